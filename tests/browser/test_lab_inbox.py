"""The inbox in a real JupyterLab (SPEC §4c, issue 18): runs suspended by another process
(``flownb run`` on a SQLite file) are listed in a notebook's ``Inbox()``; a person picks one,
answers its form in the page, and the run goes green — in the page and in the store, as this
test process reads it — and leaves the list. Every text of the list is readable (contrast
>= 4.5:1) in both themes. Screenshots: ``test-artifacts/browser/inbox-{light,dark}.png`` (the
list), ``inbox-opened-{light,dark}.png`` (a run picked: its view and form below the list) and
``inbox-answered-{light,dark}.png`` (the run answered, green)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from lab import screenshot, set_theme, write_notebook

from flownb.storage import SQLiteStore

APP = textwrap.dedent('''
    from pydantic import BaseModel, Field

    from flownb import create_step, create_workflow


    class Doc(BaseModel):
        text: str


    class Approval(BaseModel):
        approved: bool = True
        reviewer: str = Field(min_length=2, description="who approves")


    def ask(input_data: Doc, resume_data: Approval | None, suspend):
        if resume_data is None:
            return suspend({"question": f"publish <b>{input_data.text}</b>?"})
        verdict = "approved" if resume_data.approved else "rejected"
        return Doc(text=f"{input_data.text}: {verdict} by {resume_data.reviewer}")


    def shout(input_data: Doc) -> Doc:
        return Doc(text=input_data.text.upper())


    review = (create_workflow(id="inbox-review", input_schema=Doc, output_schema=Doc)
              .then(create_step(id="ask", input_schema=Doc, output_schema=Doc,
                                resume_schema=Approval, execute=ask))
              .then(create_step(id="shout", input_schema=Doc, output_schema=Doc,
                                execute=shout))
              .commit())
''')


def start_elsewhere(folder: Path, db: Path, run_id: str, text: str) -> None:
    """``flownb run`` in another process: the run suspends at ``ask`` (exit 3)."""
    done = subprocess.run(
        [sys.executable, "-m", "flownb", "run", "inbox_app.py:review", "--input",
         json.dumps({"text": text}), "--run-id", run_id, "--json"],
        cwd=folder, env={**os.environ, "FLOWNB_STORAGE": str(db)}, capture_output=True,
        text=True, timeout=60, check=False)
    assert done.returncode == 3, done.stdout + done.stderr


def notebook(folder: Path, db: Path) -> Path:
    cells = [f"import flownb\nflownb.configure(storage={str(db)!r})",
             "from flownb.notebook import Inbox\ninbox = Inbox()\ninbox"]
    return write_notebook(folder / "inbox.ipynb", cells)


def field_input(scope: Any, title: str) -> Any:
    return scope.locator(".flownb-field").filter(
        has=scope.page.locator(f'b:text-is("{title}")')).locator("input").first


def test_answer_a_run_suspended_elsewhere_from_the_inbox(open_notebook, lab_server, page,
                                                         expect, tmp_path):
    folder = lab_server.root / "inbox"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inbox_app.py").write_text(APP)
    db = folder / "runs.db"
    start_elsewhere(folder, db, "first-draft", "first")
    start_elsewhere(folder, db, "second-draft", "second")

    page.set_viewport_size({"width": 1280, "height": 1300})
    nb = open_notebook(notebook(tmp_path, db), folder="inbox")
    nb.run_all()
    inbox = nb.output(1).locator(".flownb-inbox")
    rows = inbox.locator("table.flownb-inbox-entries tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("second-draft")  # newest first
    expect(rows.nth(1)).to_contain_text("first-draft")
    expect(rows.first).to_contain_text("publish <b>second</b>?")  # as text, not markup
    expect(rows.first.locator("b")).to_have_count(0)
    expect(inbox.locator("select.flownb-inbox-filter option")).to_have_text(
        ["all workflows", "inbox-review"])
    for theme in ("light", "dark"):
        set_theme(page, theme)
        check_readable(inbox, theme)
        screenshot(inbox, f"inbox-{theme}")
    set_theme(page, "light")

    # The filter: its one workflow lists both runs, as "all workflows" does.
    inbox.locator("select.flownb-inbox-filter").select_option("inbox-review")
    expect(rows).to_have_count(2)
    inbox.locator("select.flownb-inbox-filter").select_option("")
    expect(rows).to_have_count(2)

    rows.nth(1).locator("button.flownb-inbox-answer").click()  # first-draft
    view = inbox.locator(".flownb-run-view")
    expect(view).to_have_count(1)
    expect(rows.nth(1)).to_have_class(re.compile("flownb-picked"))
    expect(rows.nth(1).locator("button.flownb-inbox-answer")).to_have_text("opened")
    form = view.locator(".flownb-resume-form")
    expect(form).to_be_visible()
    rows.nth(1).click()  # picked again: still one view
    expect(view).to_have_count(1)
    for theme in ("light", "dark"):
        set_theme(page, theme)
        check_readable(inbox, theme)
        inbox.scroll_into_view_if_needed()
        screenshot(inbox, f"inbox-opened-{theme}")
    set_theme(page, "light")
    expect(view.locator('g[data-path="ask"]')).to_have_class(re.compile("status-suspended"))
    reviewer = field_input(form, "reviewer")
    reviewer.fill("Ada")
    reviewer.press("Enter")
    form.locator(".flownb-submit").click()
    expect(view.locator('g[data-path="shout"]')).to_have_class(re.compile("status-success"),
                                                              timeout=15_000)
    expect(view.locator(".flownb-head .flownb-pill")).to_have_text("success")
    expect(view.locator(".flownb-result")).to_contain_text("FIRST: APPROVED BY ADA")
    expect(view.locator(".flownb-answered")).to_contain_text("answered")
    expect(rows).to_have_count(1)  # the list drops the answered run; its view stays
    expect(rows.first).to_contain_text("second-draft")

    stored = SQLiteStore(db)
    snap = stored.load("first-draft")
    assert snap is not None and snap.status == "success"
    assert snap.meta["result"] == {"text": "FIRST: APPROVED BY ADA"}
    waiting = stored.load("second-draft")
    assert waiting is not None and waiting.status == "suspended"  # the other one still waits
    for theme in ("light", "dark"):
        set_theme(page, theme)
        check_readable(inbox, theme)
        screenshot(inbox, f"inbox-answered-{theme}")


# Every piece of text in the inbox against the background it is drawn on (the first one up
# its ancestors that is not transparent): WCAG contrast >= 4.5:1 for the list's text.
_TEXTS = """(root, selector) => {
  const out = [];
  const back = (n) => {
    for (; n; n = n.parentElement) {
      const c = getComputedStyle(n).backgroundColor;
      if (c && c !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(c)) return c;
    }
    return getComputedStyle(document.body).backgroundColor;
  };
  for (const n of root.querySelectorAll(selector)) {
    if (!n.textContent.trim()) continue;
    out.push({text: n.textContent.trim().slice(0, 40), fg: getComputedStyle(n).color,
              bg: back(n)});
  }
  return out;
}"""


_INBOX_TEXTS = (".flownb-inbox-head, table.flownb-inbox-entries td, table.flownb-inbox-entries th,"
                " .flownb-inbox-hint, .flownb-inbox-empty, select.flownb-inbox-filter,"
                " .flownb-toolbar button, label.flownb-inbox-label")


def check_readable(root: Any, theme: str, selector: str = _INBOX_TEXTS) -> None:
    """Every text ``selector`` finds in ``root`` (the inbox's own, by default) is readable:
    WCAG contrast >= 4.5:1 against the background it is drawn on."""
    from test_live_layout import contrast

    texts = root.evaluate(_TEXTS, selector)
    assert texts, f"no text found in {selector}"
    for t in texts:
        ratio = contrast(t["fg"], t["bg"], t["bg"])
        assert ratio >= 4.5, f"{theme}: {t['text']!r} has a contrast of {ratio:.2f}: {t}"
