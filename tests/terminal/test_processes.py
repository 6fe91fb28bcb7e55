"""``python -m flownb`` in real processes: pipes stay plain, resume goes through a terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pexpect

import flownb
from flownb.storage import SQLiteStore
from flownb.terminal.loader import import_module


def flownb_env(db: str) -> dict[str, str]:
    return {**os.environ, "FLOWNB_STORAGE": db, "COLUMNS": "100", "NO_COLOR": "1"}


def run_flownb(db: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flownb", *argv], capture_output=True,
                          text=True, env=flownb_env(db), timeout=60, check=False)


def test_run_resume_and_inspect_through_pipes(write_module, tmp_path):
    db = str(tmp_path / "runs.db")
    path = write_module("piped", "review")
    done = run_flownb(db, "run", f"{path}:review", "--input", '{"message": "doc"}')
    assert done.returncode == 3 and done.stderr == ""
    assert "\x1b[" not in done.stdout  # no colours, no cursor moves
    out = done.stdout.splitlines()
    assert re.fullmatch(r"run [0-9a-f]{32} of workflow 'review' started", out[0])
    assert re.fullmatch(r"✓ shout  success  \d+ ms", out[2])
    command = out[-1].removeprefix("to continue: ")
    run_id = out[0].split()[1]
    assert command == f"flownb resume {run_id}"  # the store comes from FLOWNB_STORAGE

    done = run_flownb(db, *command.split()[1:], "--data", '{"approved": true, "score": 2}')
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.splitlines()[-2] == '│ {"message": "DOC 2 low"} │'

    path.unlink()  # inspect reads the snapshot alone, never the user's module
    done = run_flownb(db, "inspect", run_id)
    assert done.returncode == 0 and done.stderr == ""
    assert "\n✓ review  success  " in done.stdout and "\n├── ✓ shout  " in done.stdout
    done = run_flownb(db, "resume", run_id, "--data", "{}")
    assert done.returncode == 2 and "\n" not in done.stderr.rstrip("\n")
    assert done.stderr.startswith(f"flownb: error: run '{run_id}' of workflow 'review' has status "
                                  "success, not suspended")


def test_interactive_resume_in_a_terminal(write_module, tmp_path):
    db = str(tmp_path / "runs.db")
    path = write_module("asked", "review")
    flownb.configure(storage=db)
    module, origin = import_module(str(path))
    run = module.review.create_run(run_id="tty-run")
    run.origin = f"{origin}:review"
    assert flownb.run_sync(run.start(input_data={"message": "doc"})).status == "suspended"

    # A terminal without styles (TERM=dumb), so the prompts read as plain text.
    child = pexpect.spawn(sys.executable, ["-m", "flownb", "resume", "tty-run"],
                          env={**flownb_env(db), "TERM": "dumb"}, encoding="utf-8",
                          timeout=30, dimensions=(40, 100))
    child.expect_exact("step 'approve' of workflow 'review' is waiting")
    child.expect_exact('"question": "publish DOC?"')
    child.expect_exact("A person approves")
    child.expect_exact("approved (bool) [y/n]: ")
    child.sendline("y")
    child.expect_exact("score (int, ≥ 1, ≤ 5) from 1 to 5: ")
    child.sendline("abc")
    child.expect_exact("✗ score: Input should be a valid integer")
    child.expect_exact("score (int, ≥ 1, ≤ 5) from 1 to 5: ")
    child.sendline("4")
    child.expect_exact("level (choice) [low/high] (low): ")
    child.sendline("high")
    child.expect_exact('"message": "DOC 4 high"')
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    store = SQLiteStore(db)
    snap = store.load("tty-run")
    store.close()
    assert snap.status == "success" and snap.meta["result"] == {"message": "DOC 4 high"}
    assert snap.steps["approve"]["resume_payload"] == {"approved": True, "score": 4,
                                                       "level": "high"}
