"""ResumeForm and InputForm headless: generated fields, typed values, inline errors, submit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from ipywidgets.widgets.widget import _instances
from nb_workflows import Doc, Review, Tone, parallel_approvals, review_workflow
from pydantic import BaseModel, Field

from flownb import create_step, create_workflow
from flownb.errors import ResumeError
from flownb.notebook import InputForm, ResumeForm, forms
from flownb.notebook.fields import ListField, ScalarField, build_fields


async def suspended_review_run():  # type: ignore[no-untyped-def]
    wf = review_workflow()
    run = wf.create_run()
    await run.start({"text": "hi"})
    return run


async def test_each_type_gets_its_input():
    form = ResumeForm(await suspended_review_run())
    f = form.fields
    assert list(f) == ["approved", "score", "note", "mood", "tone", "tags", "reviewer.name",
                       "reviewer.email"]
    assert f["approved"].kind == "yesno"  # required: yes / no
    assert [label for label, _ in f["approved"].options] == ["yes", "no"]
    assert f["score"].kind == "number"
    assert f["note"].kind == "text"
    assert f["mood"].kind == "dropdown"
    assert [label for label, _ in f["mood"].options] == ["calm", "excited"]
    assert f["tone"].kind == "dropdown" and f["tone"].value is Tone.KIND
    assert isinstance(f["tags"], ListField) and f["tags"].kind == "list" and f["tags"].rows == 0
    assert f["reviewer.name"].kind == "text"
    # the browser draws the same tree: each input's kind, in the form's order
    kinds: dict[str, str] = {}
    for spec in _specs(form.tree):  # an `X | None` before the input inside it
        kinds.setdefault(spec["path"], spec["kind"])
    assert kinds["approved"] == "yesno" and kinds["note"] == "optional"
    assert kinds["reviewer"] == "group" and kinds["tags"] == "list"
    assert next(s for s in _specs(form.tree) if s["path"] == "mood")["options"] == [
        "calm", "excited"]


async def test_defaults_and_values_are_typed():
    form = ResumeForm(await suspended_review_run())
    # required fields are left out until filled; optional ones give their defaults
    assert form.values() == {"note": None, "mood": "calm", "tone": Tone.KIND, "tags": [],
                             "reviewer": {"email": None}}
    form.fields["approved"].value = False
    form.fields["score"].value = 0
    assert form.values()["approved"] is False and form.values()["score"] == 0
    form.fields["tags"].add("a")
    form.fields["tags"].add("b")
    form.fields["tags.1"].value = "B"
    form.fields["note"].value = "typed"  # typing into an optional field sets it
    form.fields["tone"].value = Tone.BLUNT
    values = form.values()
    assert values["tags"] == ["a", "B"] and values["note"] == "typed"
    assert values["tone"] is Tone.BLUNT
    form.fields["tags"].remove(0)
    assert form.values()["tags"] == ["B"]
    assert "tags.1" not in form.fields


async def test_descriptions_bounds_and_defaults_are_shown_as_text():
    form = ResumeForm(await suspended_review_run())
    hints = {s["path"]: s["hint"] for s in _specs(form.tree)}
    # plain text, which forms.js writes with textContent: the markup shows as typed
    assert hints["score"] == "how good <b>is</b> it · ≥ 0, ≤ 10"
    assert "default: calm" in hints["mood"]
    assert "who reviewed it" in hints["reviewer.name"]
    assert "at least 2 long" in hints["reviewer.name"]
    script = (Path(forms.__file__).parent / "static" / "forms.js").read_text()
    assert "innerHTML" not in script.replace("this.cardBox.innerHTML = card", "")


async def test_invalid_values_show_inline_errors_keep_values_and_the_run_suspended(store):
    run = await suspended_review_run()
    form = ResumeForm(run)
    form.fields["approved"].value = False
    form.fields["score"].value = 11
    form.fields["reviewer.name"].value = "A"
    assert await form.submit() is None
    assert set(form.errors) == {"score", "reviewer.name"}
    assert "less than or equal to 10" in form.errors["score"]
    assert form.root.children()[1].error == form.errors["score"]  # next to its field
    assert form.field_errors == form.errors  # what the browser shows beside each
    assert "2 fields to fix" in form.message and not form.message_ok
    assert form.fields["score"].value == 11  # what was typed stays
    assert run.status == "suspended"
    assert store.load(run.run_id).status == "suspended"

    form.fields["score"].value = 9
    form.fields["reviewer.name"].value = "Ada"
    result = await form.submit()
    assert result.status == "success" and result.result == Doc(text="hi! no 9 by Ada")
    assert form.errors == {} and form.field_errors == {} and form.button.disabled
    assert form.disabled  # the page's button too
    assert store.load(run.run_id).status == "success"


async def test_the_button_resumes_in_the_background(store):
    run = await suspended_review_run()
    form = ResumeForm(run)
    form.fields["approved"].value = True
    form.fields["score"].value = 3
    form.fields["reviewer.name"].value = "Bo"
    form.button.click()  # in a kernel this is a task on the running loop
    task = next(iter(__import__("flownb.notebook._tasks", fromlist=["x"])._running))
    await task
    assert run.status == "success" and form.result is not None


async def test_several_suspended_steps_without_step_show_a_selector():
    wf = parallel_approvals()
    run = wf.create_run()
    await run.start({"text": "x"})
    form = ResumeForm(run)
    assert form.selector is not None and list(form.selector.options) == ["legal", "finance"]
    assert form.step_path == "legal" and form.steps == ["legal", "finance"]
    form.selector.value = "finance"
    assert form.step_path == "finance" and form.step == "finance"
    assert form.heading[0] == ["b", "finance"]
    form._on_message(form, {"event": "step", "value": "legal"}, [])  # picked in the page
    assert form.step_path == "legal"
    form.selector.value = "finance"
    form.fields["ok"].value = True
    await form.submit()
    assert run.suspended == [["legal"]]


async def test_a_run_that_is_not_suspended_has_no_form():
    wf = review_workflow()
    run = wf.create_run()
    with pytest.raises(ResumeError, match="not suspended|suspended: none"):
        ResumeForm(run)


def test_list_rows_paste_json_and_bad_json():
    class Batch(BaseModel):
        sizes: list[int]

    root = build_fields(Batch)
    sizes = root.inputs()["sizes"]
    assert isinstance(sizes, ListField) and sizes is root.children()[0]
    assert sizes.load_json("[1, 2, 3]")
    assert root.read() == {"sizes": [1, 2, 3]} and sizes.rows == 3
    assert [item.path for item in sizes.items] == ["sizes.0", "sizes.1", "sizes.2"]
    assert not sizes.load_json("[1, 2")
    assert "not valid JSON" in sizes.error
    assert root.read() == {"sizes": [1, 2, 3]}  # nothing lost
    assert not sizes.load_json('{"a": 1}') and "a JSON list" in sizes.error
    assert sizes.load_json("[4]") and sizes.error is None and sizes.value == [4]


def test_editing_rows_then_closing_leaves_no_widget_open():
    """A form is one widget (and the box below it for a run's view), however many rows."""
    class Batch(BaseModel):
        sizes: list[int]
        note: str | None = None

    before = set(_instances)
    echo = create_step(id="echo", input_schema=Batch, output_schema=Batch,
                       execute=lambda input_data: input_data)
    form = InputForm(create_workflow(id="batch", input_schema=Batch, output_schema=Batch)
                     .then(echo).commit())
    sizes = form.fields["sizes"]
    for _ in range(3):
        sizes.add()
    sizes.remove(1)
    form.fields["sizes.0"].value = 4
    assert form.values() == {"sizes": [4, None], "note": None}  # a new row starts empty
    assert len(set(_instances) - before) == 4  # the form, the box below it, their layouts
    form.close()
    assert set(_instances) == before


def test_other_types():
    class Extra(BaseModel):
        when: dt.date
        ratio: float = Field(0.5, gt=0, lt=1)
        meta: dict[str, Any] = {}
        essay: str = Field("", max_length=5000)
        pick: int | str = 3

    root = build_fields(Extra)
    f = root.inputs()
    assert f["when"].placeholder == "YYYY-MM-DD"
    assert f["when"].kind == "date"
    assert f["ratio"].kind == "number" and f["ratio"].value == 0.5
    assert f["meta"].kind == "json" and f["meta"].placeholder == "JSON"
    assert f["essay"].kind == "textarea" and f["pick"].kind == "json"
    assert isinstance(f["pick"], ScalarField)
    f["when"].value = "2026-11-21"
    f["meta"].value = '{"k": [1]}'
    f["pick"].value = '"x"'
    assert root.read() == {"when": "2026-11-21", "ratio": 0.5, "meta": {"k": [1]},
                           "pick": "x"}  # the empty essay is left to its default
    assert Extra.model_validate(root.read()).when == dt.date(2026, 11, 21)


async def test_unparsable_json_is_a_field_error_not_a_crash():
    class Data(BaseModel):
        meta: dict[str, int]

    step = create_step(id="ask", input_schema=Doc, output_schema=Doc, resume_schema=Data,
                       execute=lambda input_data, resume_data, suspend:
                       input_data if resume_data else suspend(None))
    wf = create_workflow(id="json-ask", input_schema=Doc, output_schema=Doc).then(step).commit()
    run = wf.create_run()
    await run.start({"text": "x"})
    form = ResumeForm(run)
    form.fields["meta"].value = "{oops"
    assert await form.submit() is None
    assert "not valid JSON" in form.errors["meta"]
    assert run.status == "suspended"


async def test_a_non_model_resume_schema_is_one_field():
    step = create_step(id="count", input_schema=Doc, output_schema=Doc, resume_schema=int,
                       execute=lambda input_data, resume_data, suspend:
                       {"text": str(resume_data)} if resume_data is not None else suspend(None))
    wf = create_workflow(id="scalar", input_schema=Doc, output_schema=Doc).then(step).commit()
    run = wf.create_run()
    await run.start({"text": "x"})
    form = ResumeForm(run)
    assert list(form.fields) == [""]
    form.fields[""].value = 5
    result = await form.submit()
    assert result.result == Doc(text="5")


async def test_input_form_validates_then_starts_a_run_with_a_live_view():
    wf = review_workflow()
    form = InputForm(wf)
    assert list(form.fields) == ["text"]
    assert ["muted", " draft, then a person reviews"] in form.heading

    class Strict(BaseModel):
        n: int = Field(ge=1)

    strict = (create_workflow(id="strict", input_schema=Strict, output_schema=Strict)
              .then(create_step(id="same", input_schema=Strict, output_schema=Strict,
                                execute=lambda input_data: input_data))
              .commit())
    sform = InputForm(strict)
    assert sform.fields["n"].value is None  # required: empty, not 0
    assert await sform.submit() is None
    assert sform.errors == {"n": "Field required"} and sform.view is None
    sform.fields["n"].value = 0
    assert await sform.submit() is None
    assert "greater than or equal to 1" in sform.errors["n"] and sform.view is None
    assert strict.runs() == []  # nothing started, nothing stored
    sform.fields["n"].value = 3
    result = await sform.submit()
    assert result.status == "success" and result.result == Strict(n=3)
    assert sform.view is not None and sform.view.step_status == {"same": "success"}
    assert sform.output.children == (sform.view,)
    first = sform.view
    assert (await sform.submit()).status == "success"  # a second run replaces the view
    assert sform.output.children == (sform.view,) and sform.view is not first
    assert first.comm is None  # the replaced view is closed, not left in the registry

    form.fields["text"].value = "draft me"
    result = await form.submit()
    assert result.status == "suspended"
    assert set(form.view.resume_forms) == {"review"}  # the view asks the person next


async def test_input_form_for_a_list_input_has_rows_and_paste():
    class Item(BaseModel):
        n: int

    wf = (create_workflow(id="per-item", input_schema=list[Item], output_schema=list[Item])
          .foreach(create_step(id="keep", input_schema=Item, output_schema=Item,
                               execute=lambda input_data: input_data), concurrency=2)
          .commit())
    form = InputForm(wf)
    assert list(form.fields) == [""]
    form._on_message(form, {"event": "load_json", "path": "", "text": '[{"n": 1}, {"n": 2}]'},
                     [])  # the page's load JSON button
    assert list(form.fields) == ["", "0.n", "1.n"]
    assert [s["path"] for s in _specs(form.tree)] == ["", "0", "0.n", "1", "1.n"]
    form.fields["1.n"].value = 5
    result = await form.submit()
    assert [i.n for i in result.result] == [1, 5]


def _specs(spec):  # type: ignore[no-untyped-def]
    """Every field of a form's ``tree`` trait (what forms.js draws), in order."""
    yield spec
    for part in (spec.get("inner"), *spec.get("children", ()), *spec.get("items", ())):
        if part is not None:
            yield from _specs(part)


def test_review_model_is_what_the_form_builds():
    # the form's paths are pydantic's error locations
    with pytest.raises(Exception) as info:
        Review.model_validate({"approved": True, "score": 1, "reviewer": {"name": "x"}})
    assert info.value.errors()[0]["loc"] == ("reviewer", "name")


async def test_an_input_form_says_how_a_suspended_run_ends():
    """The status line under the form follows a run it started that suspended: answered
    later (from its view or anywhere), the line says how it ended."""
    form = InputForm(review_workflow())
    form.fields["text"].value = "draft me"
    result = await form.submit()
    assert result.status == "suspended" and "is suspended: it waits for an answer" in form.message
    reply = form.view.resume_forms["review"]
    reply.fields["reviewer.name"].value = "Ada"
    reply.fields["approved"].value = True
    reply.fields["score"].value = 5
    assert (await reply.submit()).status == "success"
    assert f"run {result.run_id} succeeded" in form.message
    assert form._feed is None  # it stopped following the finished run
    form.close()


def test_the_button_takes_another_submit_only_where_one_is_expected(store):
    """One rule for every form's button: pressed again after an error to fix, and after a
    run an input form started (run after run); an answered resume form stays a card."""
    import flownb

    wf = create_workflow(id="echo-button", input_schema=Doc, output_schema=Doc)
    wf.then(create_step(id="same", input_schema=Doc, output_schema=Doc,
                        execute=lambda input_data: input_data)).commit()
    started = InputForm(wf)
    started.button.click()  # nothing typed: an error to fix
    assert started.errors and not started.button.disabled
    started.fields["text"].value = "hello"
    started.button.click()
    assert started.result is not None and started.result.status == "success"
    assert not started.button.disabled  # the next run
    run = review_workflow().create_run()
    flownb.run_sync(run.start({"text": "hi"}))
    answer = ResumeForm(run)
    answer.fields["approved"].value = True
    answer.fields["score"].value = 4
    answer.fields["reviewer.name"].value = "Ada"
    answer.button.click()
    assert answer.answered and answer.done and answer.disabled
