"""A resume form in a real JupyterLab, light and dark: required fields start empty and marked,
the list editor's buttons read in full and add a row, what the step asked shows as text,
submitting empty says "Field required" next to each field, a good answer turns every display
of the form into the "answered" card, and a closed answered form still shows its card.

Screenshots: ``test-artifacts/browser/form-{empty,required,list,answered}-{light,dark}.png``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from lab import screenshot, set_theme, write_notebook

SETUP = textwrap.dedent('''
    from pydantic import BaseModel, Field

    from flownb import create_step, create_workflow
    from flownb.notebook import ResumeForm


    class Doc(BaseModel):
        text: str


    class Review(BaseModel):
        approved: bool
        score: int = Field(ge=1, le=5, description="1 to 5")
        reviewer: str = Field(min_length=2)
        tags: list[str] = []


    async def review(input_data: Doc, resume_data: Review | None, suspend):
        if resume_data is None:
            return await suspend({"question": "publish <i>it</i>?"})
        return {"text": f"{input_data.text} {resume_data.score} by {resume_data.reviewer}"}


    wf = (create_workflow(id="form-check", input_schema=Doc, output_schema=Doc)
          .then(create_step(id="review", input_schema=Doc, output_schema=Doc,
                            resume_schema=Review, execute=review))
          .commit())
    run = wf.create_run()
    result = await run.start({"text": "hi"})
    print(result.status)
''').strip()
CELLS = [
    SETUP,
    "form = ResumeForm(run)\nform",
    "form  # the same form, displayed again",
    # Run again by the test once the form is answered: a closed form shows its card.
    "if form.answered:\n    form.close()\nform",
]
FORM, AGAIN, CLOSED = 1, 2, 3

# Whether a button's text fits it (a cut label overflows: scrollWidth > clientWidth).
_FITS = "el => el.scrollWidth <= el.clientWidth + 1"
_SIZES = ("el => ({scroll: el.scrollWidth, client: el.clientWidth, "
          "style: el.getAttribute('style'), css: getComputedStyle(el).width, "
          "flex: getComputedStyle(el).flex, html: el.outerHTML})")


def notebook(folder: Path) -> Path:
    return write_notebook(folder / "forms.ipynb", CELLS)


def field(form: Any, title: str) -> Any:
    return form.locator(".flownb-field").filter(
        has=form.page.locator(f'b:text-is("{title}")'))


def run_cell(nb: Any, index: int) -> None:
    nb.cell(index).locator(".jp-InputArea-editor").click()
    nb.page.keyboard.press("Shift+Enter")
    nb.wait_idle()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_resume_form_starts_empty_says_field_required_and_becomes_a_card(
        open_notebook, page, expect, tmp_path, theme):
    nb = open_notebook(notebook(tmp_path))
    set_theme(page, theme)
    nb.run_all()
    expect(nb.output(0)).to_contain_text("suspended")

    form = nb.output(FORM).locator(".flownb-resume-form")
    expect(form).to_be_visible()
    expect(nb.output(AGAIN).locator(".flownb-resume-form")).to_be_visible()  # not the repr
    expect(nb.output(AGAIN)).not_to_contain_text("ResumeForm(")
    score = field(form, "score").locator("input").first
    reviewer = field(form, "reviewer").locator("input").first
    approved = field(form, "approved")
    expect(score).to_have_value("")  # nothing invented: not 0
    expect(reviewer).to_have_value("")
    expect(approved.locator("button.mod-active")).to_have_count(0)  # neither yes nor no
    for title in ("approved", "score", "reviewer"):
        expect(field(form, title).locator(".flownb-required")).to_be_visible()
    expect(field(form, "tags").locator(".flownb-required")).to_have_count(0)
    expect(form.locator(".flownb-required-legend")).to_contain_text("required")
    payload = form.locator(".flownb-suspend-payload")  # what the step asked, as text
    expect(payload).to_contain_text("publish <i>it</i>?")
    expect(payload.locator("i")).to_have_count(0)
    expect(field(form, "score").locator(".flownb-hint")).to_contain_text("1 to 5")
    add, load = form.locator(".flownb-add-row"), form.locator(".flownb-load-json")
    expect(add).to_have_text("add item")
    expect(load).to_have_text("load JSON")
    for button in (add, load):
        assert button.evaluate(_FITS), f"the button {button.inner_text()!r} is cut: " \
            f"{button.evaluate(_SIZES)}"
    screenshot(form, f"form-empty-{theme}")

    form.locator(".flownb-submit").click()
    required = form.locator(".flownb-field-error", has_text="Field required")
    expect(required).to_have_count(3)
    for title in ("approved", "score", "reviewer"):
        expect(field(form, title).locator(".flownb-field-error")).to_have_text(
            "Field required")
    expect(form.locator(".flownb-form-message")).to_contain_text("3 fields to fix")
    screenshot(form, f"form-required-{theme}")

    score.fill("9")
    score.press("Enter")
    form.locator(".flownb-submit").click()
    expect(field(form, "score").locator(".flownb-field-error")).to_contain_text(
        "less than or equal to 5")
    expect(score).to_have_value("9")  # what was typed stays
    approved.locator("button", has_text="yes").click()
    expect(approved.locator("button.mod-active")).to_have_text("yes")
    add.click()  # a list row, typed into, with its remove button
    tag = field(form, "#0").locator("input")
    expect(tag).to_have_value("")
    tag.fill("news")
    expect(form.locator(".flownb-remove-row")).to_have_count(1)
    screenshot(form, f"form-list-{theme}")
    score.fill("4")
    score.press("Enter")
    reviewer.fill("<b>Ada</b>")
    reviewer.press("Enter")
    form.locator(".flownb-submit").click()

    for index in (FORM, AGAIN):  # every display of the form turns into the card
        card = nb.output(index).locator(".flownb-answered")
        expect(card).to_contain_text("answered at")
        expect(card).to_contain_text("<b>Ada</b>")  # shown as text, not markup
        expect(card).to_contain_text('["news"]')
        expect(card).to_contain_text("run")
        expect(nb.output(index).locator("input")).to_have_count(0)  # read-only
    expect(nb.output(FORM).locator(".flownb-answered")).to_contain_text("then succeeded")
    screenshot(nb.output(FORM), f"form-answered-{theme}")

    run_cell(nb, CLOSED)  # closed: its HTML card, never a blank output or the repr
    closed = nb.output(CLOSED)
    expect(closed.locator(".flownb-answered-card")).to_contain_text("answered at")
    expect(closed).not_to_contain_text("ResumeForm(")
