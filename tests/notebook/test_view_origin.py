"""RunView(run_id) of a run that `flownb run app.py` stored: its workflow comes from the file
path the run recorded, or the view says visibly why it could not."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flownb
from flownb.notebook import RunView

APP = '''
from pydantic import BaseModel
from flownb import create_step, create_workflow


class Doc(BaseModel):
    text: str


class Answer(BaseModel):
    approved: bool


def ask(input_data: Doc, resume_data: Answer | None, suspend):
    if resume_data is None:
        return suspend({"question": f"publish {input_data.text}?"})
    return Doc(text=f"{input_data.text}: {'yes' if resume_data.approved else 'no'}")


review = (create_workflow(id="cli-review", input_schema=Doc, output_schema=Doc)
          .then(create_step(id="ask", input_schema=Doc, output_schema=Doc,
                            resume_schema=Answer, execute=ask))
          .commit())
'''


@pytest.fixture
def cli_run(tmp_path, monkeypatch):
    """A run of ``project/app_cli_view.py:review`` started by ``flownb run`` in another
    process (suspended at ``ask``), stored in ``runs.db``; this process uses that store and
    works in another directory. Returns the app's path."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    project = tmp_path / "project"
    project.mkdir()
    app = project / "app_cli_view.py"
    app.write_text(textwrap.dedent(APP))
    db = tmp_path / "runs.db"
    done = subprocess.run(
        [sys.executable, "-m", "flownb", "run", "app_cli_view.py:review", "--input",
         '{"text": "doc"}', "--run-id", "from-cli", "--json"],
        cwd=project, env={**os.environ, "FLOWNB_STORAGE": str(db)}, capture_output=True,
        text=True, timeout=60, check=False)
    assert done.returncode == 3, done.stderr  # suspended
    flownb.configure(storage=str(db))
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    yield app
    sys.modules.pop("app_cli_view", None)


async def test_a_run_started_by_the_cli_on_a_file_loads_its_workflow(cli_run):
    view = RunView("from-cli")
    assert view.origin_error is None
    assert view.run is not None and view.run.workflow.id == "cli-review"  # not read-only
    assert view.run.origin == f"{cli_run}:review"
    assert "stored state" not in view.header.value
    assert view.step_status == {"ask": "suspended"}
    form = view.resume_forms["ask"]
    form.fields["approved"].value = True
    result = await form.submit()
    assert result.status == "success" and result.result.text == "doc: yes"
    assert view.step_status == {"ask": "success"}
    view.close()


def test_an_origin_that_cannot_load_is_a_visible_notice(cli_run: Path):
    cli_run.rename(cli_run.with_name("moved.py"))
    view = RunView("from-cli")
    reason = f"no such file: '{cli_run}'"
    assert view.run is None and view.resume_forms == {}  # the stored state, read-only
    assert view.origin_error == (f"cannot load workflow 'cli-review' from '{cli_run}:review': "
                                 f"{reason}")
    assert "stored state" in view.header.value
    assert f"⚠ cannot load workflow &#x27;cli-review&#x27; from &#x27;{cli_run}:review" \
        in view.header.value
    assert view.step_status == {"ask": "suspended"}
    view.close()
