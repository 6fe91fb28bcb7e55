"""The live view and its resume form in a real JupyterLab: nodes turn green as the run
streams, the suspended step shows a form, a bad value shows its error, a good one resumes and
leaves a card of the answer."""

from __future__ import annotations

import re

from lab import screenshot

VIEW_CELL, RUN_CELL = 2, 3


def node(view, step: str):  # type: ignore[no-untyped-def]
    return view.locator(f'.flownb-graph svg g[id="step:{step}"]')


def field_input(form, title: str):  # type: ignore[no-untyped-def]
    return form.locator(".flownb-field").filter(
        has=form.page.locator(f'b:text-is("{title}")')).locator("input").first


def test_live_view_suspends_shows_the_form_and_resumes(open_notebook, page, expect):
    nb = open_notebook("live_view.ipynb")
    nb.run_all()
    expect(nb.output(RUN_CELL)).to_contain_text("status=suspended")

    view = nb.output(VIEW_CELL).locator(".flownb-run-view")
    expect(view).to_be_visible()
    expect(node(view, "draft")).to_have_class(re.compile(r"\bstatus-success\b"))
    expect(node(view, "review")).to_have_class(re.compile(r"\bstatus-suspended\b"))
    expect(node(view, "publish")).to_have_class(re.compile(r"\bstatus-pending\b"))
    expect(page.locator("script", has_text="alert(1)")).to_have_count(0)

    form = view.locator(".flownb-resume-form")
    expect(form).to_be_visible()
    expect(form.locator(".flownb-suspend-payload")).to_contain_text(
        "publish <script>alert(1)</script>?")  # shown as text, not markup
    screenshot(view, "live-view-suspended")

    score = field_input(form, "score")
    score.fill("11")
    score.press("Enter")
    reviewer = field_input(form, "reviewer")
    reviewer.fill("Ada")
    reviewer.press("Enter")
    form.locator(".flownb-submit").click()
    error = form.locator(".flownb-field-error", has_text="less than or equal to 10")
    expect(error).to_be_visible()
    expect(score).to_have_value("11")  # what was typed stays
    expect(node(view, "review")).to_have_class(re.compile(r"\bstatus-suspended\b"))
    screenshot(form, "resume-form-error")

    score.fill("7")
    score.press("Enter")
    form.locator(".flownb-submit").click()
    expect(node(view, "publish")).to_have_class(re.compile(r"\bstatus-success\b"),
                                                timeout=15_000)
    expect(node(view, "review")).to_have_class(re.compile(r"\bstatus-success\b"))
    expect(view.locator(".flownb-result")).to_contain_text("HELLO! SCORE=7 BY ADA")
    # The form stays where it was, as a card of the answer (SPEC §6b), without its inputs.
    expect(view.locator(".flownb-answered")).to_contain_text("answered")
    expect(view.locator(".flownb-submit")).to_have_count(0)
    screenshot(view, "live-view-success")
