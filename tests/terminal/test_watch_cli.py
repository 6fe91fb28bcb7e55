"""``flownb watch RUN_ID`` follows a run that another process runs (SPEC §4c, §7): a line per
step whose status changed, the run's exit status (0 success, 3 suspended with the resume
command), Ctrl-C stops watching and leaves the run alone. The runs are ``flownb run``
processes on one SQLite file, their steps gated by files the test creates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flownb.storage import SQLiteStore

APP = '''
import time
from pathlib import Path

from pydantic import BaseModel

from flownb import create_step, create_workflow

GATES = Path(__file__).parent / "gates"


class Doc(BaseModel):
    text: str


class Answer(BaseModel):
    approved: bool


def gate(name):
    while not (GATES / name).exists():
        time.sleep(0.02)


def receive(input_data: Doc) -> Doc:
    return input_data


def prepare(input_data: Doc) -> Doc:
    gate("prepare")
    return Doc(text=input_data.text.upper())


def ask(input_data: Doc, resume_data: Answer | None, suspend):
    if resume_data is None:
        return suspend({"question": f"publish {input_data.text}?"})
    return input_data


def step(id, fn, **extra):
    return create_step(id=id, input_schema=Doc, output_schema=Doc, execute=fn, **extra)


chain = (create_workflow(id="cli-chain", input_schema=Doc, output_schema=Doc)
         .then(step("receive", receive)).then(step("prepare", prepare)).commit())
review = (create_workflow(id="cli-review", input_schema=Doc, output_schema=Doc)
          .then(step("receive", receive)).then(step("prepare", prepare))
          .then(step("ask", ask, resume_schema=Answer)).commit())
'''


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "gates").mkdir(parents=True)
        (root / "app_watch_cli.py").write_text(textwrap.dedent(APP))
        self.db = root / "runs.db"
        self.env = {**os.environ, "FLOWNB_STORAGE": str(self.db), "COLUMNS": "100"}

    def flownb(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "flownb", *args], cwd=self.root,
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def start(self, wf: str, run_id: str) -> subprocess.Popen[str]:
        proc = self.flownb("run", f"app_watch_cli.py:{wf}", "--input", '{"text": "doc"}',
                           "--run-id", run_id, "--no-live")
        self.until(lambda: self.status(run_id) is not None, f"run {run_id} stored")
        return proc

    def open(self, gate: str) -> None:
        (self.root / "gates" / gate).touch()

    def status(self, run_id: str) -> str | None:
        store = SQLiteStore(self.db)
        try:
            snap = store.load(run_id)
            return None if snap is None else snap.status
        finally:
            store.close()

    @staticmethod
    def until(check: Callable[[], Any], what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.02)


def ended(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


def test_watch_follows_a_run_to_its_end_and_exits_with_its_status(project: Project):
    run = project.start("chain", "c1")
    watch = project.flownb("watch", "c1", "--no-live")
    time.sleep(1.5)  # the watcher starts and sees prepare running
    project.open("prepare")
    code, out, err = ended(watch)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "watching run c1 of workflow 'cli-chain' (running)"
    assert lines.index("● prepare  running") < lines.index("✓ prepare  success")
    assert "result" in out and '"DOC"' in out
    assert ended(run)[0] == 0


def test_watch_of_a_run_that_suspends_exits_3_with_the_resume_command(project: Project):
    run = project.start("review", "r1")
    watch = project.flownb("watch", "r1", "--no-live")
    project.open("prepare")
    code, out, err = ended(watch)
    assert code == 3, err
    assert "suspended at step 'ask'" in out and "publish DOC?" in out
    assert out.rstrip().endswith("to continue: flownb resume r1")
    assert ended(run)[0] == 3


def test_ctrl_c_stops_watching_and_leaves_the_run_running(project: Project):
    run = project.start("chain", "c2")
    watch = project.flownb("watch", "c2", "--no-live")
    project.until(lambda: watch.stdout is not None, "the watcher")
    time.sleep(1.5)  # it is watching (its first line is out)
    watch.send_signal(signal.SIGINT)
    code, _out, err = ended(watch)
    assert code == 130, err
    assert "stopped watching run 'c2'; it was running and goes on" in err
    assert project.status("c2") == "running"
    project.open("prepare")
    assert ended(run)[0] == 0
    assert project.status("c2") == "success"


def test_watch_of_a_finished_run_prints_it_and_its_status(project: Project):
    project.open("prepare")
    assert ended(project.start("chain", "c3"))[0] == 0
    code, out, _err = ended(project.flownb("watch", "c3", "--no-live"))
    assert code == 0 and "✓ prepare  success" in out


def test_watch_of_an_unknown_run_is_a_usage_error(project: Project):
    code, _out, err = ended(project.flownb("watch", "nope"))
    assert code == 2 and "no stored run 'nope'" in err


def test_inbox_lists_the_suspended_runs_with_their_resume_command(project: Project):
    code, out, _err = ended(project.flownb("inbox"))
    assert code == 0 and "no suspended runs" in out
    project.open("prepare")
    assert ended(project.start("review", "r2"))[0] == 3
    assert ended(project.start("chain", "c4"))[0] == 0
    code, out, err = ended(project.flownb("inbox"))
    assert code == 0, err
    assert "r2" in out and "cli-review" in out and "ask" in out and "publish DOC?" in out
    assert "flownb resume r2" in out and "c4" not in out
    code, out, _err = ended(project.flownb("inbox", "--workflow", "cli-chain"))
    assert "no suspended runs" in out and "of workflow 'cli-chain'" in out
    code, out, _err = ended(project.flownb("inbox", "--json"))
    import json

    (entry,) = json.loads(out)
    assert entry["run_id"] == "r2" and entry["step"] == "ask"
    assert entry["suspend_payload"] == {"question": "publish DOC?"}
    assert entry["resume"] == "flownb resume r2"
