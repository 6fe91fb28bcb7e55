"""flownb widgets draw from the kernel's one assets widget (``flownb/notebook/_static.py``):
each widget's ES module is a loader that imports its bundle from there. In a real JupyterLab:
two live views and the form inside them draw, each bundle's style sheet is added once, and
after the page is reloaded (the notebook saved, its kernel still running) every view draws
again from the models JupyterLab restores from the kernel, the assets among them.

Screenshot: ``test-artifacts/browser/reloaded-views.png``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from lab import screenshot, write_notebook

SETUP = textwrap.dedent('''
    from pydantic import BaseModel

    from flownb import create_step, create_workflow
    from flownb.notebook import RunView


    class Doc(BaseModel):
        text: str


    class Ok(BaseModel):
        approved: bool


    async def review(input_data: Doc, resume_data: Ok | None, suspend):
        if resume_data is None:
            return await suspend({"question": "publish?"})
        return input_data


    wf = (create_workflow(id="assets-check", input_schema=Doc, output_schema=Doc, storage=False)
          .then(create_step(id="draft", input_schema=Doc, output_schema=Doc,
                            execute=lambda input_data: input_data))
          .then(create_step(id="review", input_schema=Doc, output_schema=Doc,
                            resume_schema=Ok, execute=review))
          .commit())
    run = wf.create_run()
    await run.start({"text": "hi"})
    RunView(run)
''').strip()
CELLS = [SETUP, "RunView(run)  # a second view of the same run"]
_STYLES = "() => [...document.querySelectorAll('style[id^=\"flownb-style-\"]')].map(s => s.id)"


def notebook(folder: Path) -> Path:
    return write_notebook(folder / "assets.ipynb", CELLS)


def drawn(page, expect) -> None:
    """Both views show their graph (nodes marked by the bundle's code), styled by the
    bundle's sheet, each with the resume form of the waiting step."""
    views = page.locator(".jp-Notebook .flownb-live")
    expect(views).to_have_count(2, timeout=30_000)
    for index in range(2):
        view = views.nth(index)
        expect(view.locator("svg g.node[data-path]")).to_have_count(2)  # draft, review
        pill = view.locator(".flownb-pill").first
        assert pill.evaluate("el => getComputedStyle(el).borderTopLeftRadius") == "9px"
        expect(view.locator(".flownb-resume-form")).to_be_visible()
    assert sorted(page.evaluate(_STYLES)) == ["flownb-style-forms", "flownb-style-live"]


def test_views_draw_from_the_shared_assets_and_again_after_a_reload(
        open_notebook, page, expect, tmp_path):
    nb = open_notebook(notebook(tmp_path))
    nb.run_all()
    drawn(page, expect)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.reload()
    drawn(page, expect)
    screenshot(page.locator(".jp-Notebook .flownb-live").first, "reloaded-views")
