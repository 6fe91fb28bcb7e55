"""The notice of what changed since a stored run (SPEC §4b) in the notebook: RunView of a
reattached run, RunView(run_id, workflow=), %flow resume and %flow inspect list
``run.changes()``, escaped; a run of the current definition shows none."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from flownb import create_step, create_workflow
from flownb.notebook import RunView
from flownb.notebook.magics import inspect_html


class N(BaseModel):
    n: int


def add_one(input_data: N) -> dict[str, int]:
    return {"n": input_data.n + 1}


def add_two(input_data: N) -> dict[str, int]:
    return {"n": input_data.n + 2}


def flow(k: int, *, extra: bool = False) -> Any:
    """The counter workflow; ``k`` 1 or 2 picks its step's code."""
    step_id = "add<b>" if extra else "add"
    wf = (create_workflow(id="counter", input_schema=N, output_schema=N)
          .then(create_step(id=step_id, input_schema=N, output_schema=N,
                            execute=add_one if k == 1 else add_two)))
    return wf.commit()


async def stored_run() -> str:
    run = flow(1).create_run()
    await run.start({"n": 1})
    return run.run_id


async def test_a_reattached_run_of_a_changed_workflow_shows_the_notice():
    run_id = await stored_run()
    changed = flow(2, extra=True).create_run(run_id=run_id)
    expected = changed.changes()
    assert {c["kind"] for c in expected} == {"removed", "added"}
    view = RunView(changed)
    assert view.changes == expected
    assert view.state["changes"] == expected and view.state["changes_total"] == 2
    header = view.header.value
    assert "the workflow changed since this run was stored" in header
    assert "add&lt;b&gt;" in header and "add<b>" not in header  # escaped
    view.close()


async def test_a_code_change_is_listed_and_an_unchanged_run_shows_nothing():
    run_id = await stored_run()
    same = RunView(flow(1).create_run(run_id=run_id))
    assert same.changes == [] and same.state["changes"] == []
    assert "changed since" not in same.header.value
    same.close()
    view = RunView(run_id, workflow=flow(2))
    assert [c["kind"] for c in view.changes] == ["code"]
    assert view.state["changes"][0]["path"] == "add"
    view.close()


async def test_a_new_run_followed_by_the_view_has_no_notice():
    run_id = await stored_run()
    wf = flow(2)
    view = RunView(wf.create_run(run_id=run_id))
    assert view.changes
    fresh = view.rerun()
    assert fresh is not None and view.changes == [] and view.state["changes"] == []
    view.close()


async def test_flow_resume_and_flow_inspect_show_the_notice(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    from flownb.notebook import magics

    run_id = await stored_run()
    shown: list[Any] = []
    monkeypatch.setattr(magics, "display", shown.append)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "flownb")
    ip.user_ns["counter_wf"] = flow(2)
    try:
        ip.run_line_magic("flow", f"resume {run_id}")
        (view,) = shown
        assert isinstance(view, RunView) and [c["kind"] for c in view.changes] == ["code"]
        view.close()
        ip.run_line_magic("flow", f"inspect {run_id}")
        html = shown[-1].data
        assert "the workflow changed since this run was stored" in html
        assert "<code>add</code> <b>code</b>" in html
    finally:
        del ip.user_ns["counter_wf"]


def test_inspect_html_escapes_the_changes():
    from flownb.storage.base import Snapshot

    snap = Snapshot(run_id="r", workflow_id="w", status="success", version=1,
                    created_at=0.0, updated_at=0.0, input=None,
                    graph=flow(1).graph.description, meta={}, steps={}, journal={})
    html = inspect_html(snap, changes=[{"path": "<x>", "kind": "code", "detail": "<y>"}])
    assert "&lt;x&gt;" in html and "&lt;y&gt;" in html and "<x>" not in html
    assert "changed since" not in inspect_html(snap)
