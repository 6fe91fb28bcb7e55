"""The graph description (flownb/core/description.py): its kinds, its walker, its format."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, get_args, get_type_hints

import pytest
from pydantic import BaseModel

from flownb import create_step, create_workflow
from flownb.core import description as D
from flownb.core import graph
from flownb.core.mapping import from_step
from flownb.core.replay import current_places, stored_places


class Approval(BaseModel):
    approved: bool


def passing(step_id: str, **options: Any):
    return create_step(id=step_id, input_schema=Any, output_schema=Any,
                       execute=lambda input_data: input_data, **options)


def is_long(input_data):
    return False


def enough(input_data):
    return True


def wait_for(input_data):
    return 0


def every_construct():
    """A workflow using every construct the builder has, a nested workflow among them."""
    inner = (create_workflow(id="inner").then(passing("a"))
             .map(lambda input_data: input_data).commit())
    return (create_workflow(id="tour", description="Every construct")
            .then(passing("first", description="Takes x in", resume_schema=Approval))
            .parallel([inner, passing("b")])
            .branch([(is_long, passing("long")), (lambda input_data: True, passing("short"))])
            .map({"value": from_step("first")}, id="to-list")
            .foreach(passing("each"), concurrency=2)
            .dountil(passing("again"), enough)
            .dowhile(passing("more"), lambda input_data: False)
            .sleep(0.5)
            .sleep(wait_for)
            .sleep_until(datetime(2030, 1, 2, tzinfo=UTC))
            .commit())


class Recorder(D.EntryVisitor[str, None]):
    """Notes every call (kind, path of each unit or of the entry's node) and goes into
    nested workflows."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def units(self, kind: str, units: list[D.Unit], ctx: str) -> None:
        assert ctx == "ctx"
        self.calls.append((kind, tuple(u.path for u in units)))
        for unit in units:
            for entry in unit.entries:
                self.visit(entry, unit.prefix, ctx)

    def visit_step(self, entry, unit, ctx):
        self.units("step", [unit], ctx)

    def visit_parallel(self, entry, path, units, ctx):
        self.units("parallel", units, ctx)

    def visit_branch(self, entry, path, arms, ctx):
        assert [arm["label"] for arm, _ in arms] == ["is_long", "cond 2"]
        self.units("branch", [unit for _, unit in arms], ctx)

    def visit_map(self, entry, path, ctx):
        self.calls.append(("map", (path,)))

    def visit_loop(self, entry, unit, ctx):
        self.units("loop", [unit], ctx)

    def visit_foreach(self, entry, unit, ctx):
        self.units("foreach", [unit], ctx)

    def visit_sleep(self, entry, path, ctx):
        self.calls.append(("sleep", (path,)))


# -- the kinds ------------------------------------------------------------------------------------


def test_the_walker_visits_every_kind_of_a_workflow_using_every_construct():
    recorder = Recorder()
    for entry in D.top_entries(every_construct().graph.description):
        recorder.visit(entry, "", "ctx")
    assert recorder.calls == [
        ("step", ("first",)),
        ("parallel", ("inner", "b")),
        ("step", ("inner.a",)),
        ("map", ("inner.map-1",)),
        ("branch", ("long", "short")),
        ("map", ("to-list",)),
        ("foreach", ("each",)),
        ("loop", ("again",)),
        ("loop", ("more",)),
        ("sleep", ("sleep-1",)),
        ("sleep", ("sleep-2",)),
        ("sleep", ("sleep-until-1",)),
    ]
    assert {kind for kind, _ in recorder.calls} == set(D.ENTRY_KINDS)


def test_the_walker_knows_exactly_the_kinds_the_graph_builder_produces():
    built = {cls.kind for cls in get_args(graph.Entry)}
    typed = {get_args(get_type_hints(td)["kind"])[0] for td in get_args(D.EntryDescription)}
    methods = {name.removeprefix("visit_") for name in D.EntryVisitor.__abstractmethods__}
    described = {e["kind"] for e in every_construct().graph.description["entries"]}
    assert set(D.ENTRY_KINDS) == built == typed == methods == described


def test_each_entry_reports_the_units_and_node_its_description_holds():
    # graph.py's Entry objects and the description walker must agree on what an entry
    # holds: workflow.py checks duplicate ids with the former, views draw the latter.
    for entry in every_construct().graph.entries:
        ids = [s.id for s in entry.units] + ([entry.node] if entry.node else [])
        nodes = D.entry_nodes(entry.describe())
        assert ids == [n.path for n in nodes if n.shows_status], entry.kind
        assert entry.describe()["kind"] == entry.kind


def test_a_visitor_without_a_method_for_every_kind_cannot_be_made():
    class NoSleep(D.EntryVisitor[None, None]):
        visit_step = visit_parallel = visit_branch = Recorder.visit_step
        visit_map = visit_loop = visit_foreach = Recorder.visit_step

    with pytest.raises(TypeError, match="visit_sleep"):
        NoSleep()  # type: ignore[abstract]


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown entry kind 'teleport' in the graph"):
        list(D.walk({"id": "w", "entries": [{"kind": "teleport"}]}))


# -- the walk -------------------------------------------------------------------------------------


def test_walk_lists_every_node_with_its_kind_and_holder_in_drawing_order():
    nodes = [(n.path, n.kind, n.holder, n.shows_status)
             for n in D.walk(every_construct().graph.description)]
    assert nodes == [
        ("first", "step", "then", True),
        ("inner", "workflow", "parallel", True),
        ("inner.a", "step", "then", True),
        ("inner.map-1", "map", "map", True),
        ("b", "step", "parallel", True),
        ("branch-1", "decision", "decision", False),
        ("long", "step", "branch", True),
        ("short", "step", "branch", True),
        ("to-list", "map", "map", True),
        ("each", "step", "foreach", True),
        ("again", "step", "dountil", True),
        ("more", "step", "dowhile", True),
        ("sleep-1", "sleep", "sleep", True),
        ("sleep-2", "sleep", "sleep", True),
        ("sleep-until-1", "sleep", "sleep", True),
    ]


def test_a_lone_step_description_is_one_node():
    step = {"id": "a", "kind": "step", "description": None}
    assert D.top_entries(step) == [{"kind": "step", "step": step}]
    assert [(n.path, n.kind) for n in D.walk(step)] == [("a", "step")]


def test_places_of_the_live_graph_and_of_its_stored_description_agree():
    wf = every_construct()
    stored = json.loads(json.dumps(wf.graph.description))
    live, kept = current_places(wf), stored_places(stored)
    assert list(live) == list(kept)
    assert all(live[path].same_as(kept[path]) for path in live)
    assert live["inner.a"].step is wf.steps["inner.a"] and live["to-list"].step is None


def test_the_fingerprint_follows_kinds_and_ids_not_text():
    def wf(step_id: str = "b", description: str | None = None):
        return (create_workflow(id="w").then(passing("a", description=description))
                .branch([(is_long, passing(step_id))]).commit())

    assert wf().graph.fingerprint == wf(description="other text").graph.fingerprint
    assert wf().graph.fingerprint != wf("c").graph.fingerprint


# -- the stored format ----------------------------------------------------------------------------


def test_the_stored_format_is_unchanged():
    """What snapshots keep: stored runs of earlier versions must still be read."""
    wf = (create_workflow(id="w", description="d")
          .then(passing("a", resume_schema=Approval))
          .parallel([passing("p")])
          .branch([(is_long, passing("b"))])
          .map(lambda input_data: input_data, id="m")
          .dountil(passing("u"), enough)
          .foreach(passing("f"), concurrency=3)
          .sleep(1.5)
          .sleep_until(datetime(2030, 1, 2, tzinfo=UTC))
          .commit())

    def unit(step_id: str) -> dict[str, Any]:
        return {"id": step_id, "kind": "step", "description": None, "input_schema": "Any",
                "output_schema": "Any"}

    assert wf.graph.description == {
        "id": "w", "kind": "workflow", "description": "d", "input_schema": "Any",
        "output_schema": "Any", "entries": [
            {"kind": "step", "step": {**unit("a"), "resume_schema": {
                "properties": {"approved": {"title": "Approved", "type": "boolean"}},
                "required": ["approved"], "title": "Approval", "type": "object"}}},
            {"kind": "parallel", "id": "parallel-1", "steps": [unit("p")]},
            {"kind": "branch", "id": "branch-1",
             "branches": [{"label": "is_long", "step": unit("b")}]},
            {"kind": "map", "id": "m", "label": "map"},
            {"kind": "loop", "mode": "until", "label": "enough", "step": unit("u")},
            {"kind": "foreach", "concurrency": 3, "step": unit("f")},
            {"kind": "sleep", "id": "sleep-1", "mode": "sleep", "seconds": 1.5, "until": None,
             "label": "1.5 s"},
            {"kind": "sleep", "id": "sleep-until-1", "mode": "sleep_until", "seconds": None,
             "until": "2030-01-02T00:00:00+00:00", "label": "2030-01-02T00:00:00+00:00"},
        ]}
