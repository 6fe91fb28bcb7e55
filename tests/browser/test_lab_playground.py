"""The playground in a real JupyterLab: the notebook `flownb playground` writes shows a tab
per workflow; a person fills the input form, runs it, answers the suspended step, and the
run turns green."""

from __future__ import annotations

import re
import textwrap

from lab import screenshot

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


def set_dark_theme(page):  # type: ignore[no-untyped-def]
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(300)  # the theme's style sheet applies


def test_fill_run_answer_and_succeed(open_notebook, lab_server, tmp_path, expect):
    folder = "playground"
    (lab_server.root / folder).mkdir(parents=True, exist_ok=True)
    (lab_server.root / folder / "pg_flows.py").write_text(MODULE)
    notebook = playground_notebook(tmp_path / "playground-pg_flows.ipynb", "pg_flows", "reg",
                                   root=lab_server.root / folder)
    nb = open_notebook(notebook, folder=folder)
    nb.run_all()

    tabs = nb.output(1).locator(".flownb-registry-view")
    expect(tabs).to_be_visible()
    expect(tabs.locator(".lm-TabBar-tab")).to_have_text(["publish", "echo"])
    panel = tabs.locator(".flownb-workflow-panel").first
    form = panel.locator(".flownb-input-form")
    expect(panel).to_contain_text("a person approves before publishing")

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
    set_dark_theme(nb.page)
    screenshot(panel.locator(".flownb-run-list"), "playground-runs-dark")
    panel.locator(".flownb-run-view").scroll_into_view_if_needed()
    screenshot(panel.locator(".flownb-run-view"), "playground-success-dark")
    assert panel.locator(".flownb-run-view").count() == 1  # one view of the run, not two
