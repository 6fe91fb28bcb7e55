"""An answered resume form becomes a read-only card ("answered at HH:MM:SS" and the values),
never a blank output; a form displayed again shows itself, never the ipywidgets repr text."""

from __future__ import annotations

import datetime as dt

import pytest
from IPython.core.formatters import DisplayFormatter
from ipywidgets.widgets.widget import _instances
from nb_workflows import review_workflow

import flownb
from flownb.notebook import InputForm, ResumeForm, RunView, forms
from flownb.notebook.forms import answered_card_html

WIDGET = "application/vnd.jupyter.widget-view+json"
AT = dt.datetime(2026, 11, 21, 9, 5, 7)


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    monkeypatch.setattr(forms, "_now", lambda: AT)


async def suspended_run():  # type: ignore[no-untyped-def]
    run = review_workflow().create_run()
    await run.start({"text": "hi"})
    return run


def fill(form, name: str = "Ada") -> None:  # type: ignore[no-untyped-def]
    form.fields["approved"].value = True
    form.fields["score"].value = 7
    form.fields["reviewer.name"].value = name
    form.fields["tags"].add("x")


def formatted(obj):  # type: ignore[no-untyped-def]
    data, _meta = DisplayFormatter().format(obj)
    return data


async def test_a_successful_submit_turns_the_form_into_a_read_only_card():
    run = await suspended_run()
    form = ResumeForm(run)
    fill(form, "<b>Ada</b>")
    result = await form.submit()
    assert result.status == "success"
    assert form.answered and form.answered_at == AT
    assert form.answer == {"approved": True, "score": 7, "note": None, "mood": "calm",
                           "tone": "kind", "tags": ["x"],
                           "reviewer": {"name": "<b>Ada</b>", "email": None}}
    html = form.card  # forms.js shows it in place of the inputs
    assert html == form._static_html() and "flownb-answered-card" in html
    assert "answered at 09:05:07" in html and "review" in html and "then succeeded" in html
    assert "&lt;b&gt;Ada&lt;/b&gt;" in html and "<b>Ada</b>" not in html  # escaped
    for path in ("approved", "score", "reviewer.name", "tags", "reviewer.email"):
        assert f">{path}</td>" in html
    assert form.disabled and form.children == ()  # read-only: no button to press again
    form._on_message(form, {"event": "edit", "path": "score", "value": "1"}, [])
    assert form.fields["score"].value == 7  # the page cannot type into a card
    assert form.values()["reviewer"]["name"] == "<b>Ada</b>"  # still readable from code


async def test_a_failed_submit_keeps_the_form_and_a_later_good_one_shows_the_card(store):
    run = await suspended_run()
    form = ResumeForm(run)
    form.fields["score"].value = 99
    assert await form.submit() is None
    assert not form.answered and form.answered_at is None
    assert form.fields["score"].value == 99 and form.typed["score"] == "99"
    assert form.card == "" and not form.closed and not form.disabled
    assert run.status == "suspended" and store.load(run.run_id).status == "suspended"
    fill(form)
    await form.submit()
    assert "answered at 09:05:07" in form.card


async def test_the_card_has_the_step_run_time_and_every_value_escaped():
    html = answered_card_html("re<view>", "run-1", AT,
                              {"a": {"b": "<i>x</i>"}, "n": None, "k": [1, "y"]}, "suspended")
    assert "<b>re&lt;view&gt;</b>" in html
    assert 'title="2026-11-21T09:05:07">answered at 09:05:07</span>' in html
    assert ">a.b</td><td>&lt;i&gt;x&lt;/i&gt;</td>" in html
    assert '>n</td><td><span style="color:var(--jp-ui-font-color2,#5f6368)">—</span>' in html
    assert '>k</td><td><code>[1, &quot;y&quot;]</code></td>' in html
    assert "run run-1 waits for another answer" in html
    assert ">value</td><td><code>5</code>" in answered_card_html("s", "r", AT, 5, "success")


async def test_displaying_a_form_shows_the_widget_or_the_card_never_the_repr_text():
    run = await suspended_run()
    form = ResumeForm(run)
    data = formatted(form)
    assert set(data) == {"text/plain", WIDGET}
    assert data["text/plain"] == f"ResumeForm(step='review', run='{run.run_id}', waiting)"
    fill(form)
    await form.submit()
    data = formatted(form)
    assert set(data) == {"text/plain", WIDGET, "text/html"}  # the card where no widgets
    assert "answered at 09:05:07" in data["text/html"]
    assert data["text/plain"].endswith("answered at 09:05:07)")
    form.close()
    data = formatted(form)  # closed: the card alone, not a blank output
    assert set(data) == {"text/plain", "text/html"}
    assert "answered at 09:05:07" in data["text/html"]
    assert "children=" not in data["text/plain"]


async def test_a_form_closed_unanswered_says_so():
    run = await suspended_run()
    form = ResumeForm(run)
    form.close()
    data = formatted(form)
    assert "closed unanswered" in data["text/html"] and WIDGET not in data
    assert data["text/plain"].endswith("closed)")
    inputs = InputForm(review_workflow())
    assert formatted(inputs)["text/plain"] == "InputForm(workflow='review-flow')"
    inputs.close()
    assert "was closed" in formatted(inputs)["text/html"]


async def test_the_form_a_live_view_showed_displays_as_its_card_after_the_answer():
    run = review_workflow().create_run()
    view = RunView(run)
    await run.start({"text": "hi"})
    form = view.resume_forms["review"]
    fill(form)
    await form.submit()
    data = formatted(form)  # `form` in a later cell: whether the view kept it open or not
    assert "answered at 09:05:07" in data["text/html"]
    view.close()
    assert "answered at 09:05:07" in formatted(form)["text/html"]


def test_a_click_answers_and_shows_the_card():
    run = review_workflow().create_run()
    flownb.run_sync(run.start({"text": "hi"}))
    form = ResumeForm(run)
    fill(form)
    form._on_message(form, {"event": "submit"}, [])  # the page's button; no running loop
    assert run.status == "success" and form.answered
    assert "answered at 09:05:07" in form.card


async def test_answering_then_closing_leaves_no_widget_open():
    run = await suspended_run()
    before = set(_instances)
    form = ResumeForm(run)
    fill(form)
    await form.submit()
    form.close()
    assert set(_instances) == before


async def test_picking_another_step_closes_the_last_ones_widgets():
    from nb_workflows import parallel_approvals

    run = parallel_approvals().create_run()
    await run.start({"text": "x"})
    before = set(_instances)
    form = ResumeForm(run)
    form.selector.value = "finance"
    form.selector.value = "legal"
    form.close()
    assert set(_instances) == before


async def test_an_input_form_stays_a_form_to_start_the_next_run():
    wf = review_workflow()
    form = InputForm(wf)
    form.fields["text"].value = "a"
    await form.submit()
    assert form.fields["text"].value == "a" and form.typed == {"text": "a"}
    assert form.card == "" and not form.disabled and form.children == (form.output,)
