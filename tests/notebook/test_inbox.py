"""The inbox (SPEC §4c): every suspended run of the store, newest first, filtered by
workflow, and a run answered from the form it opens."""

from __future__ import annotations

import pytest
from ipywidgets.widgets.widget import _instances
from nb_workflows import Doc, review_workflow
from pydantic import BaseModel

from flownb import create_step, create_workflow
from flownb.errors import RunNotFoundError
from flownb.notebook import Inbox


class Ok(BaseModel):
    ok: bool


def ask(input_data: Doc, resume_data: Ok | None, suspend):  # type: ignore[no-untyped-def]
    if resume_data is None:
        return suspend({"sign": input_data.text})
    return Doc(text=f"{input_data.text} signed={resume_data.ok}")


def sign_workflow():  # type: ignore[no-untyped-def]
    return (create_workflow(id="sign-flow", input_schema=Doc, output_schema=Doc)
            .then(create_step(id="sign", input_schema=Doc, output_schema=Doc,
                              resume_schema=Ok, execute=ask)).commit())


@pytest.fixture
def waiting():  # type: ignore[no-untyped-def]
    """Two workflows: three suspended runs (r1, s1, r2 in that order), one finished."""
    review, sign = review_workflow(), sign_workflow()
    return review, sign


async def _suspend(wf, run_id: str, text: str) -> None:  # type: ignore[no-untyped-def]
    assert (await wf.create_run(run_id=run_id).start({"text": text})).status == "suspended"


async def test_the_inbox_lists_exactly_the_suspended_runs_and_answers_one(waiting, store):
    review, sign = waiting
    before = set(_instances)
    await _suspend(review, "r1", "first")
    await _suspend(sign, "s1", "contract")
    await _suspend(review, "r2", "<b>second</b>")
    done = sign.create_run(run_id="s-done")
    await done.start({"text": "x"})
    await done.resume({"ok": True})
    inbox = Inbox(workflows=[review, sign])
    assert [e.run_id for e in inbox.entries] == ["r2", "s1", "r1"]  # newest first
    assert {e.workflow_id for e in inbox.entries} == {"review-flow", "sign-flow"}
    assert inbox.payloads["s1"] == {"sign": "contract"}
    html = inbox.html()
    assert "s-done" not in html and "<b>second" not in html  # escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "waiting at" in html and "sign-flow" in html
    rows = {row["run_id"]: row for row in inbox.rows}  # what the page shows, as text
    assert [row["run_id"] for row in inbox.rows] == ["r2", "s1", "r1"]
    # The page gets the text itself (it sets it as text, never as markup).
    assert rows["r2"]["asks"] == '{"question": "publish <script>alert(1)</script>?"}'
    assert rows["s1"]["workflow_id"] == "sign-flow" and rows["s1"]["waiting"] == "sign"
    assert inbox.workflows_known == ["review-flow", "sign-flow"]
    form = inbox.open("s1")
    assert inbox.view is not None and inbox.opened == [inbox.view]
    assert inbox.selected == "s1"  # the page shows it picked
    assert inbox.view.resume_forms["sign"] is form
    form.fields["ok"].value = True
    result = await form.submit()
    assert result is not None and result.status == "success"
    assert result.result.text == "contract signed=True"
    assert inbox.view.step_status == {"sign": "success"}
    # Answered here: the list drops it by itself; its view stays open, green.
    assert [e.run_id for e in inbox.entries] == ["r2", "r1"]
    assert [row["run_id"] for row in inbox.rows] == ["r2", "r1"]
    assert inbox.view is not None and inbox.view.status == "success"
    assert "s1" not in inbox.html()
    inbox.close()
    assert set(_instances) == before


async def test_the_filter_narrows_to_one_workflow(waiting):
    review, sign = waiting
    await _suspend(review, "r1", "a")
    await _suspend(sign, "s1", "b")
    inbox = Inbox(workflows={"review": review, "sign": sign})
    inbox.workflow_filter = "sign-flow"
    assert [e.run_id for e in inbox.entries] == ["s1"]
    assert [row["run_id"] for row in inbox.rows] == ["s1"]
    inbox.set_state({"workflow_filter": "review-flow"})  # the dropdown, as a person picks it
    assert inbox.workflow_filter == "review-flow"
    assert [e.run_id for e in inbox.entries] == ["r1"]
    assert [row["run_id"] for row in inbox.rows] == ["r1"]
    inbox.set_state({"workflow_filter": None})  # "all workflows"
    assert inbox.workflow_filter is None and len(inbox.rows) == 2
    inbox.workflow_filter = ""
    assert inbox.workflow_filter is None and len(inbox.entries) == 2
    inbox.workflow_filter = "nobody"
    assert inbox.entries == [] and "no suspended runs of workflow &#x27;nobody&#x27;" \
        in inbox.html()
    inbox.close()


async def test_picking_a_run_in_the_list_opens_its_form(waiting):
    review, _sign = waiting
    await _suspend(review, "r1", "a")
    inbox = Inbox(workflows=review)
    inbox.set_state({"selected": "r1"})  # a click on its row in the page
    assert inbox.view is not None and "review" in inbox.view.resume_forms
    assert inbox.message == ""
    first = inbox.view
    inbox.set_state({"selected": "r1"})  # again: the same view
    assert inbox.view is first and inbox.opened == [first]
    await _suspend(review, "r2", "b")
    inbox._handle_custom_msg({"kind": "refresh"}, [])  # the refresh button
    assert [row["run_id"] for row in inbox.rows] == ["r2", "r1"]
    inbox.set_state({"selected": "r2"})
    assert first.closed and inbox.opened == [inbox.view] and inbox.view.run.run_id == "r2"
    inbox.close()


def test_an_empty_inbox_says_so():
    inbox = Inbox()
    assert inbox.entries == []
    assert "no suspended runs" in inbox.html()
    with pytest.raises(RunNotFoundError, match="no suspended run 'nope'"):
        inbox.open("nope")
    inbox.close()


async def test_a_run_without_a_known_workflow_says_how_to_open_it(waiting):
    review, _sign = waiting
    await _suspend(review, "r1", "a")
    inbox = Inbox()
    with pytest.raises(Exception, match="not among the inbox's workflows= and the run "
                                        "recorded no origin"):
        inbox.open("r1")
    inbox.set_state({"selected": "r1"})  # picked in the page: it says why, in the page
    assert "not among the inbox's workflows=" in inbox.message
    assert inbox.selected == "" and inbox.view is None and inbox.opened == []
    inbox.close()


def test_flow_inbox_magic_shows_the_inbox_with_the_notebooks_workflows(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    from flownb import run_sync

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "flownb")
    review, sign = review_workflow(), sign_workflow()
    shell.user_ns.update(review=review, sign=sign)
    run_sync(_suspend(review, "r1", "a"))
    run_sync(_suspend(sign, "s1", "b"))
    shown: list[object] = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    shell.run_line_magic("flow", "inbox sign-flow")
    (inbox,) = shown
    assert isinstance(inbox, Inbox) and [e.run_id for e in inbox.entries] == ["s1"]
    assert set(inbox.workflows) == {"review-flow", "sign-flow"}
    inbox.close()
    for name in ("review", "sign"):
        shell.user_ns.pop(name)
