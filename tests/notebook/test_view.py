"""RunView headless: statuses, SVG restyling, coalesced updates, forms, stored runs."""

from __future__ import annotations

import asyncio
import html
import re
import time
from typing import Any

import pytest
from ipywidgets.widgets.widget import _instances
from nb_workflows import Doc, parallel_approvals, review_workflow
from pydantic import BaseModel

from flownb import create_step, create_workflow
from flownb.notebook import ResumeForm, RunView
from flownb.render.svg import svg_with_statuses
from flownb.storage import SQLiteStore


class N(BaseModel):
    n: int


def _coords(svg: str) -> list[str]:
    return re.findall(r'(?:points|d|cx|cy|x|y)="[^"]*"', svg)


def _node_class(svg: str, node: str) -> str:
    match = re.search(rf'<g id="{re.escape(node)}" class="([^"]*)"', svg)
    assert match, f"{node} not in the SVG"
    return html.unescape(match.group(1))  # Graphviz writes "-" as "&#45;"


async def test_statuses_follow_the_run_and_the_layout_never_changes():
    wf = review_workflow()
    run = wf.create_run()
    view = RunView(run)
    assert view.step_status == {"draft": "pending", "review": "pending"}
    before = view.svg
    assert "status-pending" in _node_class(before, "step:draft")
    result = await run.start({"text": "hi"})
    assert result.status == "suspended"
    assert view.step_status == {"draft": "success", "review": "suspended"}
    assert "status-success" in _node_class(view.svg, "step:draft")
    assert "status-suspended" in _node_class(view.svg, "step:review")
    assert _coords(view.svg) == _coords(before)  # restyled, not laid out again
    assert _coords(view.graph["svg"]) == _coords(before)  # the layout went to the browser once
    assert view.state["status"] == "suspended"
    assert view.state["suspended"] == [
        {"path": "review", "payload": '{"question": "publish <script>alert(1)</script>?"}'}]


async def test_a_finished_run_shows_its_result_table_and_events():
    async def inc(input_data: N) -> dict[str, int]:
        return {"n": input_data.n + 1}

    wf = (create_workflow(id="inc3", input_schema=N, output_schema=N)
          .then(create_step(id="a", input_schema=N, output_schema=N, execute=inc))
          .then(create_step(id="b", input_schema=N, output_schema=N, execute=inc))
          .commit())
    run = wf.create_run()
    view = RunView(run)
    await run.start({"n": 1})
    assert view.step_status == {"a": "success", "b": "success"}
    assert view.state["result"] == {"text": '{"n": 3}', "lines": 1, "chars": 8,
                                    "cut": False}
    rows = view.state["rows"]
    assert [(r["path"], r["status"], r["output"]) for r in rows] == [
        ("a", "success", '{"n": 2}'), ("b", "success", '{"n": 3}')]
    assert view.state["events"] is None  # the events tab is closed: not sent
    view.tab = "events"  # opening it sends them
    types = [e["type"] for e in view.state["events"]]
    assert "step-start" in types and types[-1] == "workflow-finish"
    assert "success" in view.header.value


async def test_a_saved_notebook_keeps_the_view_as_html_for_readers_without_widgets():
    """Beside the widget, a view's display carries plain HTML (what GitHub shows of a saved
    notebook) and a text line naming the run: a run that ended, its graph, steps and outcome;
    one still to run, its graph and what the live view is (no status that would be stale)."""

    async def shout(input_data: Doc) -> dict[str, str]:
        return {"text": input_data.text.upper() + "<b>"}

    def boom(input_data: Doc) -> Doc:
        raise ValueError("no <way>")

    wf = (create_workflow(id="saved<wf>", input_schema=Doc, output_schema=Doc)
          .then(create_step(id="shout", input_schema=Doc, output_schema=Doc, execute=shout))
          .commit())
    run = wf.create_run()
    view = RunView(run)
    data, _ = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"] == f"RunView(workflow='saved<wf>', run='{run.run_id}', " \
        "status='pending')"
    before = data["text/html"]
    assert "live view" in before and "<svg" in before
    assert "flownb-badge" not in before and "flownb-step-table" not in before
    assert "saved&lt;wf&gt;" in before and "saved<wf>" not in before
    await run.start({"text": "hi"})
    data, _ = view._repr_mimebundle_()
    after = data["text/html"]
    assert data["text/plain"].endswith("status='success')")
    assert "<script" not in after and "status-success" in after
    assert "flownb-step-table" in after and "HI&lt;b&gt;" in after and "HI<b>" not in after

    failing = (create_workflow(id="boom", input_schema=Doc, output_schema=Doc)
               .then(create_step(id="boom", input_schema=Doc, output_schema=Doc,
                                 execute=boom)).commit())
    failed = failing.create_run()
    await failed.start({"text": "x"})
    html_text = RunView(failed)._repr_mimebundle_()[0]["text/html"]
    assert "failed" in html_text and "no &lt;way&gt;" in html_text


class _Published:
    """IPython's display publisher, recording what it is asked to publish."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], bool]] = []

    def publish(self, data: dict[str, Any], metadata: Any = None, source: Any = None, *,
                transient: Any = None, update: bool = False, **kwargs: Any) -> None:
        self.calls.append((data, update))


async def test_a_display_from_an_earlier_cell_shows_the_runs_end_unless_a_browser_drew_it(
        monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    published = _Published()
    monkeypatch.setattr(shell, "display_pub", published)
    monkeypatch.setattr(shell, "execution_count", 5)

    async def shout(input_data: Doc) -> dict[str, str]:
        return {"text": input_data.text + "!"}

    wf = (create_workflow(id="shown-flow", input_schema=Doc, output_schema=Doc)
          .then(create_step(id="shout", input_schema=Doc, output_schema=Doc, execute=shout))
          .commit())
    unseen, drawn, same = wf.create_run(), wf.create_run(), wf.create_run()
    for run in (unseen, drawn):
        RunView.of(run)._ipython_display_()
    assert [update for _, update in published.calls] == [False, False]
    RunView.of(drawn)._on_message(None, {"kind": "rendered"}, [])  # a browser drew it
    shell.execution_count = 6  # the next cell runs them
    await unseen.start({"text": "a"})
    await drawn.start({"text": "b"})
    updates = [data for data, update in published.calls if update]
    assert len(updates) == 1  # only the display no front end drew
    assert "status='success'" in updates[0]["text/plain"]
    assert "flownb-step-table" in updates[0]["text/html"] and "a!" in updates[0]["text/html"]
    RunView.of(same)._ipython_display_()  # displayed and run in one cell
    await same.start({"text": "c"})
    assert len([update for _, update in published.calls if update]) == 1


async def test_branches_not_taken_show_skipped_after_success():
    high = create_step(id="high", input_schema=N, output_schema=N,
                       execute=lambda input_data: {"n": 1})
    low = create_step(id="low", input_schema=N, output_schema=N,
                      execute=lambda input_data: {"n": 0})
    wf = (create_workflow(id="pick", input_schema=N, output_schema=dict)
          .branch([(lambda input_data: input_data.n > 10, high),
                   (lambda input_data: input_data.n <= 10, low)])
          .commit())
    run = wf.create_run()
    view = RunView(run)
    await run.start({"n": 15})
    assert view.step_status == {"high": "success", "low": "skipped"}
    assert "status-skipped" in _node_class(view.svg, "step:low")


async def test_foreach_items_share_their_node_and_keep_their_own_status():
    item = create_step(id="double", input_schema=N, output_schema=N,
                       execute=lambda input_data: {"n": input_data.n * 2})
    wf = (create_workflow(id="fan", input_schema=list[N], output_schema=list[N])
          .foreach(item, concurrency=2).commit())
    run = wf.create_run()
    view = RunView(run)
    await run.start([{"n": i} for i in range(5)])
    status = view.step_status
    assert status["double"] == "success"
    assert [status[f"double[{i}]"] for i in range(5)] == ["success"] * 5
    (row,) = view.state["rows"]
    assert row["progress"]["done"] == row["progress"]["total"] == 5
    assert row["progress"]["counts"] == {"success": 5}


async def test_failed_step_shows_failed_with_its_error_escaped():
    def boom(input_data: N) -> dict[str, int]:
        raise ValueError("bad <b>thing</b>")

    wf = (create_workflow(id="fails", input_schema=N, output_schema=N)
          .then(create_step(id="boom", input_schema=N, output_schema=N, execute=boom))
          .commit())
    run = wf.create_run()
    view = RunView(run)
    await run.start({"n": 1})
    assert view.step_status == {"boom": "failed"}
    assert view.state["rows"][0]["error"] == "ValueError: bad <b>thing</b>"  # text, not HTML
    assert "<b>thing</b>" not in view.header.value


async def test_updates_are_coalesced_and_the_final_state_always_shows():
    item = create_step(id="tick", input_schema=N, output_schema=N,
                       execute=lambda input_data: {"n": input_data.n})
    wf = (create_workflow(id="many", input_schema=list[N], output_schema=list[N])
          .foreach(item, concurrency=50).commit())
    run = wf.create_run()
    # An interval no run reaches: besides the first draw, only the final update goes out.
    view = RunView(run, interval=3600)
    await run.start([{"n": i} for i in range(500)])
    assert view.stats["events"] >= 1000
    assert view.stats["updates"] == 2
    assert view.step_status["tick"] == "success"
    assert not view._feed.ticking


def foreach_of(wf_id: str, execute: Any, concurrency: int) -> Any:
    item = create_step(id="item", input_schema=N, output_schema=N, execute=execute)
    return (create_workflow(id=wf_id, input_schema=list[N], output_schema=list[N])
            .foreach(item, concurrency=concurrency).commit())


async def test_updates_go_out_at_most_once_per_interval_while_events_stream():
    async def slow(input_data: N) -> dict[str, int]:
        await asyncio.sleep(0.005)
        return {"n": input_data.n}

    run = foreach_of("paced", slow, concurrency=1).create_run()
    view = RunView(run, interval=0.05)
    started = time.perf_counter()
    await run.start([{"n": i} for i in range(60)])
    elapsed = time.perf_counter() - started
    assert view.stats["events"] == 2 * 60 + 2 + 2  # items, the foreach, the run
    updates = view.stats["updates"]
    # The first draw, one per 50 ms check at most, and the final one; and the checks do
    # run while the run streams (60 items x >= 5 ms is >= 6 intervals).
    assert 3 <= updates <= elapsed / 0.05 + 2
    assert not view._feed.ticking  # the checks stop with the run


async def test_checks_space_out_when_one_update_is_costly(monkeypatch):
    async def slow(input_data: N) -> dict[str, int]:
        await asyncio.sleep(0.005)
        return {"n": input_data.n}

    run = foreach_of("costly", slow, concurrency=1).create_run()
    view = RunView(run, interval=0.01)
    draw = RunView._flush

    def costly_flush(self: RunView) -> None:  # an update of a very large run: 20 ms
        time.sleep(0.02)
        draw(self)

    monkeypatch.setattr(RunView, "_flush", costly_flush)
    started = time.perf_counter()
    await run.start([{"n": i} for i in range(80)])  # >= 0.4 s
    elapsed = time.perf_counter() - started
    # Checks every 10 ms would send ~elapsed / 0.03 updates; ten times the 20 ms cost
    # apart, at most elapsed / 0.2 + the first check, the final update and the first draw.
    assert 3 <= view.stats["updates"] <= elapsed / 0.2 + 3


async def test_a_foreach_shows_done_of_a_total_known_from_its_start():
    gate = asyncio.Event()

    async def wait(input_data: N) -> dict[str, int]:
        if input_data.n == 2:
            await gate.wait()
        return {"n": input_data.n}

    run = foreach_of("progress", wait, concurrency=1).create_run()
    view = RunView(run, interval=0.01)
    task = asyncio.ensure_future(run.start([{"n": i} for i in range(6)]))
    for _ in range(500):  # the view's own checks draw the model while the run waits
        progress = view.model.nodes["item"].progress
        if progress is not None and progress.done == 2:
            break
        await asyncio.sleep(0.005)
    assert progress is not None and (progress.done, progress.total) == (2, 6)
    row = view.state["rows"][0]
    assert (row["progress"]["done"], row["progress"]["total"]) == (2, 6)
    assert row["progress"]["counts"] == {"success": 2, "running": 1}
    assert row["running"] and row["started_at"] is not None  # the browser counts up from it
    assert view.state["running"] and view.state["started_at"] is not None
    assert "…</span>" in view.header.value  # the run's time so far
    gate.set()
    await task
    assert view.state["rows"][0]["progress"]["done"] == 6 and view.model.status == "success"
    view.close()


async def test_a_view_shown_mid_run_updates_while_it_runs_and_logs_the_last_events():
    gate = asyncio.Event()

    async def wait(input_data: N) -> dict[str, int]:
        if input_data.n == 0:
            await gate.wait()
        await asyncio.sleep(0.005)
        return {"n": input_data.n}

    run = foreach_of("late", wait, concurrency=2).create_run()
    task = asyncio.ensure_future(run.start([{"n": i} for i in range(40)]))
    while len(run.steps) < 5:
        await asyncio.sleep(0.005)
    view = RunView(run, interval=0.02, max_events=5)  # after workflow-start
    assert view._feed.ticking
    await asyncio.sleep(0.1)  # items 1.. keep finishing, one at a time, every 5 ms
    assert view.stats["updates"] >= 2  # a check found the events after the first draw
    assert 0 < view.stats["events"] < 2 * 40
    assert view.step_status["item[0]"] == "running"
    gate.set()
    await task
    assert view.step_status["item"] == "success"
    view.tab = "events"  # open the log: the last five events, the finish last
    events = view.state["events"]
    assert len(events) == 5 and events[-1]["type"] == "workflow-finish"
    assert view.state["events_total"] > 5


async def test_the_view_shows_a_resume_form_and_continues_after_submit():
    wf = review_workflow()
    run = wf.create_run()
    view = RunView(run)
    await run.start({"text": "hi"})
    form = view.resume_forms["review"]
    assert view.forms == [form]
    form.fields["approved"].value = True
    form.fields["score"].value = 8
    form.fields["reviewer.name"].value = "Ada"
    result = await form.submit()
    assert result.status == "success"
    assert result.result == Doc(text="hi! yes 8 by Ada")
    assert view.step_status == {"draft": "success", "review": "success"}
    assert view.resume_forms == {} and view.forms == [form]  # it shows its answer
    assert "hi! yes 8 by Ada" in view.state["result"]["text"]


async def test_several_suspended_steps_get_one_form_each():
    wf = parallel_approvals()
    run = wf.create_run()
    view = RunView(run)
    await run.start({"text": "x"})
    assert set(view.resume_forms) == {"legal", "finance"}
    view.resume_forms["legal"].fields["ok"].value = True
    await view.resume_forms["legal"].submit()
    assert set(view.resume_forms) == {"finance"}
    view.resume_forms["finance"].fields["ok"].value = False
    result = await view.resume_forms["finance"].submit()
    assert result.status == "success"
    assert result.result.text == "x:True+x:False"
    assert view.step_status["join"] == "success"


async def test_stored_run_by_id_with_and_without_its_workflow(tmp_path):
    store = SQLiteStore(tmp_path / "runs.db")
    wf = review_workflow(storage=store)
    run = wf.create_run()
    await run.start({"text": "stored"})

    view = RunView(run.run_id, workflow=wf)
    assert view.step_status == {"draft": "success", "review": "suspended"}
    assert set(view.resume_forms) == {"review"}

    import flownb

    flownb.configure(storage=store)
    readonly = RunView(run.run_id)  # no workflow, no origin: the snapshot alone
    assert readonly.run is None
    assert readonly.step_status == {"draft": "success", "review": "suspended"}
    assert "stored state" in readonly.header.value
    assert readonly.resume_forms == {}
    readonly.close()
    view.close()

    from flownb import RunNotFoundError

    with pytest.raises(RunNotFoundError, match="no stored run 'typo' of workflow 'review-flow'"):
        RunView("typo", workflow=wf)


async def test_closing_a_view_closes_its_widgets_and_its_answered_forms():
    before = set(_instances)
    wf = review_workflow()
    run = wf.create_run()
    view = RunView(run)
    await run.start({"text": "to close"})
    form = view.resume_forms["review"]
    form.fields["approved"].value = True
    form.fields["score"].value = 3
    form.fields["reviewer.name"].value = "Ada"
    await form.submit()
    assert view.resume_forms == {} and view.forms == [form]  # answered: it shows the answer
    view.close()
    assert form.comm is None  # closed with the view
    assert set(_instances) == before
    assert run._ex.buffer is None  # nothing counts the run's events any more


async def test_displaying_a_run_twice_reuses_one_view():
    wf = review_workflow()
    run = wf.create_run()
    assert RunView.of(run) is RunView.of(run)
    assert run._ex.buffer is not None and len(run._ex.buffer.feeds) == 1


async def test_outside_a_kernel_a_run_displays_as_svg():
    wf = review_workflow()
    run = wf.create_run()
    await run.start({"text": "x"})
    bundle = run._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert "status-suspended" in _node_class(bundle["image/svg+xml"], "step:review")


async def test_closing_the_view_stops_watching():
    wf = review_workflow()
    run = wf.create_run()
    view = RunView(run)
    view.close()
    await run.start({"text": "x"})
    assert view.stats["events"] == 0


async def test_a_view_of_a_workflow_follows_its_runs_including_invoke():
    wf = review_workflow()
    view = RunView(wf)
    first = view.run
    result = await wf.create_run().start({"text": "a"})
    assert view.run is not first and view.run.run_id == result.run_id
    assert view.step_status == {"draft": "success", "review": "suspended"}
    view.close()
    await wf.create_run().start({"text": "b"})
    assert view.run.run_id == result.run_id  # closed: it stopped following


async def test_the_view_updates_while_the_run_streams():
    wf = review_workflow()
    run = wf.create_run()
    view = RunView(run)
    seen = []
    async for event in run.stream({"text": "s"}):
        seen.append((event.type, dict(view.step_status)))
    assert ("workflow-finish", {"draft": "success", "review": "suspended"}) in seen
    assert view.stats["events"] == len(seen)


def test_invoke_from_sync_code_shows_in_the_workflow_view():
    wf = review_workflow()
    view = RunView(wf)
    result = wf.invoke({"text": "sync"})
    assert view.run.run_id == result.run_id
    assert view.step_status["review"] == "suspended"
    assert set(view.resume_forms) == {"review"}


def test_rejects_what_it_cannot_show():
    with pytest.raises(TypeError, match="Run, a Workflow or a stored run id"):
        RunView(42)


def test_a_workflow_gets_a_fresh_run():
    wf = review_workflow()
    view = RunView(wf)
    assert view.run is not None and view.run.status == "pending"
    assert view.step_status == {"draft": "pending", "review": "pending"}


def test_restyling_keeps_user_text_escaped():
    wf = review_workflow()
    svg = RunView(wf).svg
    assert "<draft>" not in svg and "&lt;draft&gt;" in svg
    assert svg_with_statuses(svg, {"draft": "running"}).count("<script") == 0


async def test_resume_form_payload_is_escaped():
    wf = review_workflow()
    run = wf.create_run()
    await run.start({"text": "x"})
    form = ResumeForm(run)
    # sent as text, which forms.js writes with textContent (never parsed as markup)
    # (tests/browser/test_lab_forms.py checks the page shows such a payload as text)
    assert form.payload == {"key": "question", "text": "publish <script>alert(1)</script>?"}
    form.close()
