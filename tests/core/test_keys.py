"""The journal key grammar (flownb.core.keys) and runs stored with the version-1 grammar."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from flownb import create_step, create_workflow
from flownb.core import keys
from flownb.storage import MemoryStore, SQLiteStore
from flownb.storage.base import Snapshot


def test_parts_and_keys_put_every_engine_marker_in_brackets():
    assert keys.item_part("review", 2) == "review[2]"
    assert keys.iteration_part("inc", 3) == "inc[@3]"
    assert keys.verdict_key("outer[@1].", "inc", 3) == "outer[@1].inc[@3?]"
    assert keys.decision_key("", "branch-1") == "branch-1[?]"


def test_node_path_and_strip_items():
    assert keys.node_path("outer[@1].review[2]") == "outer.review"
    assert keys.strip_items("outer.review[2]") == "outer.review"
    assert keys.strip_items("plain") == "plain"


def test_loop_iterations_counts_the_furthest_instance_of_each_loop():
    journal = ["inc[@0?]", "inc[@1?]", "outer[@0].poll[@0?]", "outer[@1].poll[@4?]",
               "branch-1[?]", "inc[@1]", "weird@0?"]
    assert keys.loop_iterations(journal) == {"inc": 2, "outer.poll": 5}


@pytest.mark.parametrize("bad", ["", ".", "a.b", "a[b", "b]", "x\x00", "\x1b[2J", "\x9b",
                                 "\u202e", "\u2069", "x" * 201, None, 3])
def test_id_problem_names_what_is_wrong(bad):
    assert keys.id_problem(bad) is not None


@pytest.mark.parametrize("good", ["a", "inc@0?", "branch-1?", "x" * 200, "ü 🙂 <&> {}", "a b"])
def test_id_problem_accepts_everything_else(good):
    assert keys.id_problem(good) is None


def test_upgrade_v1_key_rewrites_only_loops_and_branches_of_the_graph():
    loops, branches = frozenset({"inc", "outer"}), frozenset({"branch-1"})
    up = keys.upgrade_v1_key
    assert up("inc@2", loops, branches) == "inc[@2]"
    assert up("inc@2?", loops, branches) == "inc[@2?]"
    assert up("branch-1?", loops, branches) == "branch-1[?]"
    assert up("outer@1.inc@0?", loops, branches) == "outer[@1].inc[@0?]"
    assert up("outer@1.review[3]", loops, branches) == "outer[@1].review[3]"
    # a step id of version 1 that only looks like a marker keeps its meaning
    assert up("why?", loops, branches) == "why?"
    assert up("v@2", loops, branches) == "v@2"
    # and today's keys pass through unchanged
    for key in ("inc[@2]", "inc[@2?]", "branch-1[?]", "outer[@1].inc[@0?]"):
        assert up(key, loops, branches) == key


# -- a run stored with the version-1 grammar resumes ------------------------------------------


class Count(BaseModel):
    n: int


def looping_workflow(store: Any):
    def inc(input_data: Count) -> dict[str, int]:
        return {"n": input_data.n + 1}

    def gate(input_data: Count, resume_data: Any, suspend: Any) -> Count:
        if resume_data is None:
            return suspend({"at": input_data.n})
        return input_data

    body = (create_workflow(id="body", input_schema=Count, output_schema=Count)
            .then(create_step(id="inc", input_schema=Count, output_schema=Count, execute=inc))
            .commit())
    return (create_workflow(id="v1-loop", input_schema=Count, output_schema=Count, storage=store)
            .dountil(body, lambda input_data: input_data.n >= 2)
            .branch([(lambda input_data: True,
                      create_step(id="gate", input_schema=Count, output_schema=Count,
                                  execute=gate))])
            .map(lambda input_data: input_data["gate"])
            .commit())


def as_version_1(snap: Snapshot) -> Snapshot:
    """The snapshot as flownb wrote it before the bracketed grammar."""
    def old(key: str) -> str:
        return (key.replace("[@0?]", "@0?").replace("[@1?]", "@1?").replace("[@0]", "@0")
                .replace("[@1]", "@1").replace("[?]", "?"))

    meta = dict(snap.meta)
    meta["suspended_keys"] = {d: old(k) for d, k in meta.get("suspended_keys", {}).items()}
    return Snapshot(run_id=snap.run_id + "-v1", workflow_id=snap.workflow_id, status=snap.status,
                    version=1, created_at=snap.created_at, updated_at=snap.updated_at,
                    input=snap.input, graph=snap.graph, meta=meta, steps=snap.steps,
                    journal={old(k): d for k, d in snap.journal.items()}, schema_version=1)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_run_stored_with_version_1_keys_resumes_without_rerunning(kind, tmp_path):
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "runs.db")
    wf = looping_workflow(store)
    first = await wf.create_run().start({"n": 0})
    assert first.status == "suspended"
    snap = store.load(first.run_id)
    assert "body[@1].inc" in snap.journal and "branch-1[?]" in snap.journal
    legacy = as_version_1(snap)
    assert "body@1.inc" in legacy.journal and "branch-1?" in legacy.journal
    store.insert(legacy)

    calls: list[int] = []
    again = looping_workflow(store)
    inc = again.steps["body.inc"]
    original = inc.execute
    inc.execute = lambda input_data: calls.append(input_data.n) or original(input_data)
    run = again.create_run(run_id=legacy.run_id)
    result = await run.resume({"ok": True})
    assert result.status == "success", result.error
    assert result.result == Count(n=2)
    assert calls == []  # both loop iterations were replayed from the version-1 journal


def test_items_by_foreach_groups_item_paths_with_their_sub_steps():
    from flownb.core.keys import items_by_foreach

    assert items_by_foreach(["a", "work[1]", "work[0]", "work[0].inner", "x.work[2]",
                             "work[0].sub[3]", "inc[@1]"]) == {
        "work": {1: ["work[1]"], 0: ["work[0]", "work[0].inner", "work[0].sub[3]"]},
        "x.work": {2: ["x.work[2]"]}}
