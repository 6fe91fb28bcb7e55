"""Step results → node statuses and a timeline (render/status.py)."""

from __future__ import annotations

from flownb.core.results import StepResult
from flownb.render.status import graph_path, node_statuses, timeline


def test_graph_path_drops_foreach_indexes():
    assert graph_path("docs[3].embed") == "docs.embed"
    assert graph_path("a[0].b[12]") == "a.b"
    assert graph_path("plain") == "plain"


def test_foreach_items_share_a_node_and_the_most_telling_status_shows():
    steps = {"load": StepResult("success"), "item[0]": StepResult("success"),
             "item[1]": StepResult("running"), "item[2]": StepResult("suspended")}
    assert node_statuses(steps) == {"load": "success", "item": "running"}
    steps["item[1]"] = StepResult("success")
    assert node_statuses(steps)["item"] == "suspended"
    steps["item[0]"] = StepResult("failed")
    assert node_statuses(steps)["item"] == "failed"


def test_stored_dicts_read_like_results():
    stored = {"outer": {"status": "suspended"}, "outer.inner": {"status": "suspended"},
              "outer.first": StepResult("success").to_dict()}
    assert node_statuses(stored) == {"outer": "suspended", "outer.inner": "suspended",
                                     "outer.first": "success"}


def test_timeline_orders_starts_and_ends_by_time():
    steps = {
        "a": StepResult("success", payload={"x": 1}, output={"y": 2}, started_at=1.0,
                        ended_at=2.0),
        "b": StepResult("failed", error="boom", started_at=1.5, ended_at=3.0),
        "c": StepResult("suspended", suspend_payload={"ask": "ok?"}, started_at=3.5,
                        ended_at=3.5),
        "d": StepResult("running", started_at=4.0),
    }
    got = [(e["type"], e["path"], e["timestamp"]) for e in timeline(steps)]
    assert got == [("step-start", "a", 1.0), ("step-start", "b", 1.5),
                   ("step-result", "a", 2.0), ("step-result", "b", 3.0),
                   ("step-start", "c", 3.5), ("step-suspended", "c", 3.5),
                   ("step-start", "d", 4.0)]
    events = timeline(steps)
    assert events[2]["payload"] == {"status": "success", "output": {"y": 2}}
    assert events[3]["payload"] == {"status": "failed", "error": "boom"}
    assert events[5]["payload"] == {"suspend_payload": {"ask": "ok?"}}
