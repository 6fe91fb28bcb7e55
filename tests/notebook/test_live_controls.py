"""The live view's controls, headless: Re-run starts the same workflow with the same input and
the view follows the new run (a live run's input, or a stored run's); a read-only stored run
offers none; the inspector says when a resumed step was resumed."""

from __future__ import annotations

import asyncio
from typing import Any

from nb_workflows import review_workflow
from pydantic import BaseModel

from flownb import create_step, create_workflow
from flownb.core import clock
from flownb.notebook import RunView
from flownb.storage import MemoryStore

ANSWER = {"approved": True, "score": 7, "reviewer": {"name": "Ada"}}


class N(BaseModel):
    n: int


def doubler(storage: Any = None) -> Any:
    calls: list[int] = []

    def double(input_data: N) -> dict[str, int]:
        calls.append(input_data.n)
        if input_data.n < 0:
            raise ValueError("negative")
        return {"n": input_data.n * 2}

    wf = (create_workflow(id="doubler", input_schema=N, output_schema=N,
                          **({} if storage is None else {"storage": storage}))
          .then(create_step(id="double", input_schema=N, output_schema=N, execute=double))
          .commit())
    wf.calls = calls  # type: ignore[attr-defined]
    return wf


async def finished(view: RunView) -> str:
    """The status the view shows once the run it follows is over (the run's last update
    came)."""
    for _ in range(2_000):
        run, state = view.run, view.state
        assert run is not None
        if state["run_id"] == run.run_id and state["status"] in (
                "success", "failed", "canceled", "suspended"):
            return str(state["status"])
        await asyncio.sleep(0.005)
    raise AssertionError(f"the run never finished: {view.run}")


async def test_rerun_from_the_browser_starts_the_same_input_and_the_view_follows_it():
    wf = doubler()
    run = wf.create_run()
    view = RunView(run)
    assert not view.state["can_rerun"]  # not started: nothing to re-run
    await run.start({"n": 4})
    assert view.can_rerun and view.state["can_rerun"]

    view._handle_custom_msg({"kind": "rerun"}, [])  # what the Re-run button sends
    fresh = view.run
    assert fresh is not None and fresh is not run and fresh.run_id != run.run_id
    assert await finished(view) == "success"
    assert fresh.result is not None and fresh.result.result == N(n=8)
    assert wf.calls == [4, 4]
    assert run.status == "success"  # the run shown before stays as it was
    assert view.state["run_id"] == fresh.run_id and view.state["status"] == "success"
    assert view.step_status == {"double": "success"}
    assert view.state["can_rerun"]  # and can be run again
    view.close()


async def test_a_view_of_a_workflow_reruns_a_failed_run_and_follows_it_once():
    wf = doubler()
    view = RunView(wf)
    first = view.run
    assert first is not None
    await first.start({"n": -1})
    assert view.state["status"] == "failed" and view.state["can_rerun"]
    fresh = view.rerun()
    assert fresh is not None and view.run is fresh
    assert await finished(view) == "failed"  # the same input fails the same way
    assert wf.calls == [-1, -1]
    assert view.state["run_id"] == fresh.run_id
    view.close()


async def test_rerun_of_a_stored_run_uses_its_stored_input():
    store = MemoryStore()
    wf = doubler(storage=store)
    result = await wf.create_run().start({"n": 21})
    # Another kernel: the same workflow, the stored run by its id.
    again = doubler(storage=store)
    view = RunView(result.run_id, workflow=again)
    assert view.state["can_rerun"]
    fresh = view.rerun()
    assert fresh is not None
    assert await finished(view) == "success"
    assert again.calls == [21]
    assert fresh.result is not None and fresh.result.result == N(n=42)
    assert not view.following  # the new run runs here: its events show it
    assert len(store.list_runs()) == 2
    view.close()


async def test_a_suspended_or_running_run_offers_no_rerun_and_answered_forms_go():
    wf = review_workflow()
    run = wf.create_run()
    view = RunView(run)
    await run.start({"text": "a"})
    assert run.status == "suspended" and not view.state["can_rerun"]
    assert view.rerun() is None
    await run.resume(ANSWER)
    assert view.state["can_rerun"]
    fresh = view.rerun()
    assert fresh is not None
    assert await finished(view) == "suspended"  # waits again, with its own form
    assert list(view.resume_forms) == ["review"]
    assert view.resume_forms["review"].run is fresh
    assert view.forms == [view.resume_forms["review"]]  # the old run's cards went
    view.close()


async def test_a_read_only_stored_run_offers_no_rerun():
    wf = doubler()
    result = await wf.create_run().start({"n": 1})
    view = RunView(result.run_id)  # no workflow given, no origin recorded
    assert view.run is None
    assert not view.can_rerun and not view.state["can_rerun"]
    assert view.rerun() is None
    view._handle_custom_msg({"kind": "rerun"}, [])  # ignored
    assert view.run is None
    view.close()


async def test_the_inspector_says_when_a_resumed_step_was_resumed(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    store = MemoryStore()
    wf = review_workflow(storage=store)
    run = wf.create_run()
    view = RunView(run)
    await run.start({"text": "a"})
    assert view.select("review")["resumed_at"] is None  # waiting: not resumed yet
    now[0] = 250.0
    await run.resume(ANSWER)
    info = view.select("review")
    assert info is not None
    assert (info["resumed_at"], info["started_at"]) == (250.0, 250.0)
    assert info["resume_data"]["score"] == 7
    assert view.inspected["resumed_at"] == 250.0  # the browser shows it too
    assert view.select("draft")["resumed_at"] is None  # never suspended
    # A stored run shows the same, read from the store.
    stored = RunView(run.run_id, workflow=review_workflow(storage=store))
    assert stored.select("review")["resumed_at"] == 250.0
    stored.close()
    view.close()
