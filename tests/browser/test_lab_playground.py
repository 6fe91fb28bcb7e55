"""The playground in a real JupyterLab: the notebook `flownb playground` writes shows a tab
per workflow; a person fills the input form, runs it, answers the suspended step, and the
run turns green; the runs list follows it, and picking the run there moves its one view
below the list. Every text of the panel is readable in both themes. Screenshots:
``test-artifacts/browser/playground-{suspended,success,runs,opened}-{light,dark}.png`` (and
the same without a theme suffix, taken light)."""

from __future__ import annotations

import re
import textwrap

from lab import screenshot, set_theme
from test_lab_inbox import check_readable

from flownb.notebook.playground import playground_notebook

MODULE = textwrap.dedent('''
    from pydantic import BaseModel, Field

    from flownb import Registry, create_step, create_workflow


    class Doc(BaseModel):
        text: str = Field(min_length=3, description="what to publish")


    class Review(BaseModel):
        approved: bool = True
        reviewer: str = Field("", min_length=2)


    async def review(input_data: Doc, resume_data: Review | None, suspend):
        if resume_data is None:
            return await suspend({"question": "publish it?"})
        return {"text": f"{input_data.text} (ok by {resume_data.reviewer})"}


    publish = (create_workflow(id="publish", input_schema=Doc, output_schema=Doc,
                               description="a person approves before publishing")
               .then(create_step(id="review", input_schema=Doc, output_schema=Doc,
                                 resume_schema=Review, execute=review))
               .then(create_step(id="shout", input_schema=Doc, output_schema=Doc,
                                 execute=lambda input_data: {"text": input_data.text.upper()}))
               .commit())
    echo = (create_workflow(id="echo", input_schema=Doc, output_schema=Doc)
            .then(create_step(id="same", input_schema=Doc, output_schema=Doc,
                              execute=lambda input_data: input_data))
            .commit())
    reg = Registry(workflows={"publish": publish, "echo": echo})
''')


def field_input(scope, title: str):  # type: ignore[no-untyped-def]
    return scope.locator(".flownb-field").filter(
        has=scope.page.locator(f'b:text-is("{title}")')).locator("input").first


def test_fill_run_answer_and_succeed(open_notebook, lab_server, page, tmp_path, expect):
    folder = "playground"
    (lab_server.root / folder).mkdir(parents=True, exist_ok=True)
    (lab_server.root / folder / "pg_flows.py").write_text(MODULE)
    notebook = playground_notebook(tmp_path / "playground-pg_flows.ipynb", "pg_flows", "reg",
                                   root=lab_server.root / folder)
    page.set_viewport_size({"width": 1280, "height": 1300})
    nb = open_notebook(notebook, folder=folder)
    nb.run_all()

    tabs = nb.output(1).locator(".flownb-registry-view")
    expect(tabs).to_be_visible()
    titles = tabs.locator("button.flownb-tab")
    expect(titles).to_have_text(["publish", "echo"])
    expect(titles.first).to_have_attribute("aria-selected", "true")
    panel = tabs.locator(".flownb-workflow-panel").first
    form = panel.locator(".flownb-input-form")
    expect(panel).to_contain_text("a person approves before publishing")
    expect(panel.locator(".flownb-run-count")).to_have_text("no runs yet")
    expect(panel.locator(".flownb-run-list")).to_be_hidden()
    expect(panel.locator("button.flownb-newer")).to_be_disabled()
    expect(panel.locator("button.flownb-older")).to_be_disabled()

    # Another tab shows its own panel, the first one hidden; and back.
    titles.nth(1).click()
    echo = tabs.locator(".flownb-workflow-panel").filter(has_text="echo")
    expect(echo).to_be_visible()
    expect(panel).to_be_hidden()
    titles.first.click()
    expect(panel).to_be_visible()
    expect(echo).to_be_hidden()

    text = field_input(form, "text")
    text.fill("hi")  # too short: the error shows inline, nothing runs
    text.press("Enter")
    form.locator(".flownb-submit").first.click()
    expect(form.locator(".flownb-field-error", has_text="at least 3")).to_be_visible()
    expect(form.locator(".flownb-run-view")).to_have_count(0)

    text.fill("hello world")
    text.press("Enter")
    form.locator(".flownb-submit").first.click()
    view = form.locator(".flownb-run-view")
    resume = view.locator(".flownb-resume-form")
    expect(resume).to_be_visible()
    expect(view.locator('g[id="step:review"]')).to_have_class(re.compile(r"status-suspended"))
    expect(panel.locator(".flownb-run-list option").first).to_contain_text("suspended")
    expect(panel.locator(".flownb-run-count")).to_have_text("1–1 of 1")
    screenshot(panel, "playground-suspended")

    reviewer = field_input(resume, "reviewer")
    reviewer.fill("Ada")
    reviewer.press("Enter")
    resume.locator(".flownb-submit").click()
    expect(view.locator('g[id="step:shout"]')).to_have_class(re.compile(r"status-success"))
    expect(view.locator(".flownb-result")).to_contain_text("HELLO WORLD (OK BY ADA)")
    # the run is listed under the workflow, and the list followed it to success
    expect(panel.locator(".flownb-run-list option").first).to_contain_text("success")
    screenshot(panel, "playground-success")
    # every row of the runs list is read whole: its text fits the list's width
    rows = panel.locator(".flownb-run-list select")
    cut = rows.evaluate("""select => {
        const style = getComputedStyle(select);
        const ctx = document.createElement("canvas").getContext("2d");
        ctx.font = `${style.fontSize} ${style.fontFamily}`;
        const room = select.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight) - 8;
        return [...select.options].map(o => [o.text, ctx.measureText(o.text).width, room])
            .filter(([, width, space]) => width > space);
    }""")
    assert cut == []
    rows.scroll_into_view_if_needed()
    screenshot(panel.locator(".flownb-run-list"), "playground-runs")

    # Picked in the list, the run's view moves from under the form to below the list: one
    # view of the run, the same one (its state kept), in its new place.
    rows.select_option(index=0)
    opened = panel.locator(".flownb-pg-opened .flownb-run-view")
    expect(opened).to_have_count(1)
    expect(opened.locator(".flownb-result")).to_contain_text("HELLO WORLD (OK BY ADA)")
    expect(view).to_have_count(0)
    expect(panel.locator(".flownb-run-view")).to_have_count(1)
    expect(rows).to_have_attribute("title", re.compile(r"^success"))  # the whole label
    for theme in ("light", "dark"):
        set_theme(page, theme)
        check_readable(panel, theme, _PANEL_TEXTS)
        panel.scroll_into_view_if_needed()
        screenshot(tabs, f"playground-opened-{theme}")  # the tab bar too
        rows.scroll_into_view_if_needed()
        screenshot(panel.locator(".flownb-run-list"), f"playground-runs-{theme}")
        screenshot(opened, f"playground-success-{theme}")
    assert panel.locator(".flownb-run-view").count() == 1  # one view of the run, not two


# The panel's own texts (the form and the live view are checked by their own tests).
_PANEL_TEXTS = ("button.flownb-tab, .flownb-workflow-panel > div > b, .flownb-workflow-panel p,"
                " .flownb-pg-heading, .flownb-run-count, .flownb-toolbar button,"
                " .flownb-toolbar select, .flownb-run-list select")
