"""RunView(run_id) of a run executing in another process follows it from the store (SPEC
§4c): the step running, then its success; a suspension offers the resume form, and the
form resumes it here. The other process is ``flownb run`` on a SQLite file; its steps wait
for gate files, so the test decides when each one finishes."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ipywidgets.widgets.widget import _instances

import flownb
from flownb.notebook import RunView
from flownb.storage import SQLiteStore

APP = '''
import asyncio
from pathlib import Path

from pydantic import BaseModel

from flownb import create_step, create_workflow

GATES = Path(__file__).parent / "gates"


class Doc(BaseModel):
    text: str


class Answer(BaseModel):
    approved: bool


async def gate(name):
    while not (GATES / name).exists():
        await asyncio.sleep(0.02)


def receive(input_data: Doc) -> Doc:
    return input_data


async def prepare(input_data: Doc) -> Doc:
    await gate("prepare")
    return Doc(text=input_data.text.upper())


def ask(input_data: Doc, resume_data: Answer | None, suspend):
    if resume_data is None:
        return suspend({"question": f"publish {input_data.text}?"})
    return Doc(text=f"{input_data.text}: {'yes' if resume_data.approved else 'no'}")


async def publish(input_data: Doc) -> Doc:
    await gate("publish")
    return Doc(text=input_data.text + "!")


def step(id, fn, **extra):
    return create_step(id=id, input_schema=Doc, output_schema=Doc, execute=fn, **extra)


chain = (create_workflow(id="watched-chain", input_schema=Doc, output_schema=Doc)
         .then(step("receive", receive)).then(step("prepare", prepare))
         .then(step("publish", publish)).commit())
review = (create_workflow(id="watched-review", input_schema=Doc, output_schema=Doc)
          .then(step("receive", receive)).then(step("prepare", prepare))
          .then(step("ask", ask, resume_schema=Answer))
          .then(step("publish", publish)).commit())
'''


@dataclass
class Elsewhere:
    """A project with the app (each workflow's first step is instant: the store shows a
    step running from the write that records the step before it), its gate directory and a
    run database shared with this process; ``start`` runs one of its workflows with
    ``flownb run`` in another process."""

    project: Path
    db: Path

    def start(self, wf: str, run_id: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "flownb", "run", f"app_watch.py:{wf}", "--input",
             '{"text": "doc"}', "--run-id", run_id, "--no-live"],
            cwd=self.project, env={**os.environ, "FLOWNB_STORAGE": str(self.db)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def open(self, gate: str) -> None:
        (self.project / "gates" / gate).touch()


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Elsewhere]:
    monkeypatch.setattr(sys, "path", list(sys.path))
    project = tmp_path / "project"
    (project / "gates").mkdir(parents=True)
    (project / "app_watch.py").write_text(textwrap.dedent(APP))
    db = tmp_path / "runs.db"
    flownb.configure(storage=str(db))
    yield Elsewhere(project, db)
    sys.modules.pop("app_watch", None)


async def until(check: Callable[[], Any], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def stored(db: Path, run_id: str) -> None:
    store = SQLiteStore(db)
    try:
        await until(lambda: store.version_of(run_id) is not None, f"run {run_id} stored")
    finally:
        store.close()


def finished(proc: subprocess.Popen[str]) -> int:
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode is not None, err
    return proc.returncode


async def test_a_run_in_another_process_is_followed_step_by_step(elsewhere: Elsewhere):
    proc = elsewhere.start("chain", "w-chain")
    await stored(elsewhere.db, "w-chain")
    view = RunView("w-chain")
    assert view.run is not None and view.following
    assert view.status == "running"
    await until(lambda: view.step_status == {"receive": "success", "prepare": "running",
                                        "publish": "pending"},
                "prepare running")
    updates = view.stats["updates"]
    elsewhere.open("prepare")
    await until(lambda: view.step_status == {"receive": "success", "prepare": "success",
                                        "publish": "running"},
                "prepare done, publish running")
    assert view.stats["updates"] > updates and view.state["status"] == "running"
    elsewhere.open("publish")
    await until(lambda: view.status == "success", "the run to finish")
    assert set(view.step_status.values()) == {"success"}
    assert view.state["status"] == "success"
    await until(lambda: not view.following, "the view to stop following")
    assert finished(proc) == 0
    view.close()


async def test_a_suspension_elsewhere_offers_the_form_and_resuming_here_finishes(
        elsewhere: Elsewhere):
    proc = elsewhere.start("review", "w-review")
    await stored(elsewhere.db, "w-review")
    view = RunView("w-review")
    await until(lambda: view.step_status["prepare"] == "running", "prepare running")
    assert view.resume_forms == {}
    elsewhere.open("prepare")
    await until(lambda: "ask" in view.resume_forms, "the resume form")
    assert view.status == "suspended" and view.step_status["ask"] == "suspended"
    assert finished(proc) == 3  # `flownb run` ends when its run suspends
    form = view.resume_forms["ask"]
    assert form in view.forms
    elsewhere.open("publish")
    form.fields["approved"].value = True
    result = await form.submit()
    assert result is not None and result.status == "success"
    assert result.result.text == "DOC: yes!"
    await until(lambda: set(view.step_status.values()) == {"success"}, "the view to show it")
    await until(lambda: not view.following, "the view to stop following")
    view.close()


async def test_a_run_resumed_elsewhere_takes_the_form_away(elsewhere: Elsewhere):
    proc = elsewhere.start("review", "w-other")
    await stored(elsewhere.db, "w-other")
    elsewhere.open("prepare")
    assert finished(proc) == 3
    view = RunView("w-other")
    assert view.following and "ask" in view.resume_forms  # suspended: it may move on
    form = view.resume_forms["ask"]
    elsewhere.open("publish")
    done = subprocess.run(
        [sys.executable, "-m", "flownb", "resume", "w-other", "--data", '{"approved": false}',
         "--no-live"], cwd=elsewhere.project,
        env={**os.environ, "FLOWNB_STORAGE": str(elsewhere.db)}, capture_output=True,
        text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    await until(lambda: view.status == "success", "the run to finish elsewhere")
    assert view.resume_forms == {} and view.forms == []
    assert form.comm is None  # closed: answered elsewhere
    view.close()


async def test_a_closed_view_stops_following_and_leaves_nothing(elsewhere: Elsewhere):
    before = set(_instances)
    proc = elsewhere.start("chain", "w-closed")
    await stored(elsewhere.db, "w-closed")
    try:
        view = RunView("w-closed")
        poller = view._poller
        assert poller is not None and view.following
        view.close()
        await asyncio.sleep(0)
        assert poller.done() and not view.following
        assert set(_instances) == before
        refs = [weakref.ref(view), weakref.ref(view.run)]
        del view
        gc.collect()
        assert all(ref() is None for ref in refs)
    finally:
        elsewhere.open("prepare")
        elsewhere.open("publish")
        assert finished(proc) == 0


async def test_a_dropped_view_lets_its_poller_end(elsewhere: Elsewhere):
    proc = elsewhere.start("chain", "w-dropped")
    await stored(elsewhere.db, "w-dropped")
    view = RunView("w-dropped", poll_interval=0.01)
    poller = view._poller
    assert poller is not None
    view.close()  # closed (ipywidgets lets go of it) but the task is not what keeps it
    ref = weakref.ref(view)
    del view
    gc.collect()
    assert ref() is None
    await asyncio.sleep(0.05)
    assert poller.done()
    elsewhere.open("prepare")
    elsewhere.open("publish")
    assert finished(proc) == 0


@pytest.mark.slow
async def test_watching_an_idle_run_costs_under_one_percent_of_a_core(
        elsewhere: Elsewhere, monkeypatch: pytest.MonkeyPatch):
    proc = elsewhere.start("chain", "w-idle")
    await stored(elsewhere.db, "w-idle")
    checks = 0
    version_of = SQLiteStore.version_of

    def counted(self: SQLiteStore, run_id: str) -> int | None:
        nonlocal checks
        checks += 1
        return version_of(self, run_id)

    monkeypatch.setattr(SQLiteStore, "version_of", counted)
    view = RunView("w-idle")
    assert view.following
    await asyncio.sleep(0.3)
    checks, updates = 0, view.stats["updates"]
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(5)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"idle watch: {cpu / wall:.3%} of a core, {checks / wall:.1f} checks/s")
    assert checks <= 4 * wall + 1  # at most 4 checks a second
    assert view.stats["updates"] == updates  # nothing changed: nothing reloaded or sent
    assert cpu / wall <= 0.01
    view.close()
    elsewhere.open("prepare")
    elsewhere.open("publish")
    assert finished(proc) == 0
