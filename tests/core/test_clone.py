"""clone_step of a workflow: an independent copy under its own id."""

from __future__ import annotations

from typing import Any

from flownb import clone_step, create_step, create_workflow
from flownb.core.description import walk
from flownb.render.status import node_paths


def passing(step_id: str):
    return create_step(id=step_id, input_schema=Any, output_schema=Any,
                       execute=lambda input_data: input_data)


def inner_workflow():
    return create_workflow(id="inner").then(passing("a")).map(lambda input_data: input_data) \
        .commit()


class Observer:
    def __init__(self) -> None:
        self.runs: list[str] = []

    def saw(self, run: Any) -> None:
        self.runs.append(run.workflow.id)


def test_the_clone_describes_and_draws_itself_under_its_new_id():
    original = inner_workflow()
    twin = clone_step(original, id="twin")
    assert twin.id == "twin" and original.id == "inner"
    assert twin.graph is not original.graph
    assert twin.graph.description["id"] == "twin"
    assert original.graph.description["id"] == "inner"
    assert twin.graph.description["entries"] == original.graph.description["entries"]
    assert twin.graph.fingerprint != original.graph.fingerprint
    assert twin.to_dot().startswith('digraph "twin" {')
    assert original.to_dot().startswith('digraph "inner" {')


def test_on_run_callbacks_of_one_do_not_fire_for_the_other():
    original = inner_workflow()
    seen_original, seen_twin = Observer(), Observer()
    original.on_run(seen_original.saw)
    twin = clone_step(original, id="twin")
    twin.on_run(seen_twin.saw)
    original.invoke(1)
    twin.invoke(2)
    assert seen_original.runs == ["inner"] and seen_twin.runs == ["twin"]


def test_the_clone_runs_nested_under_its_new_id(store):
    original = inner_workflow()
    twin = clone_step(original, id="twin")
    outer = create_workflow(id="outer").then(original).then(twin).commit()
    result = outer.invoke(1)
    assert result.status == "success"
    assert list(result.steps) == ["inner", "inner.a", "inner.map-1", "twin", "twin.a",
                                  "twin.map-1"]
    # Every recorded step has its node in the stored graph, so a stored run draws right.
    stored = store.load(result.run_id).graph
    assert set(result.steps) == set(node_paths(stored))
    assert [n.path for n in walk(stored) if n.kind == "workflow"] == ["inner", "twin"]


def test_a_run_of_the_clone_is_stored_with_its_own_id_and_graph(store):
    twin = clone_step(inner_workflow(), id="twin")
    result = twin.invoke(1)
    snapshot = store.load(result.run_id)
    assert snapshot.workflow_id == "twin" and snapshot.graph["id"] == "twin"
    assert [info.run_id for info in twin.runs()] == [result.run_id]


def test_building_on_an_open_clone_leaves_the_original_alone():
    original = create_workflow(id="open").then(passing("a"))
    twin = clone_step(original, id="twin").then(passing("b")).commit()
    assert list(twin.steps) == ["a", "b"]
    assert list(original.steps) == ["a"]
    assert list(original.commit().steps) == ["a"]
