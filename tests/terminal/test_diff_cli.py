"""``flownb diff RUN_A RUN_B``: two stored runs compared from the store alone (no user code)."""

from __future__ import annotations

import json
import sys

import pytest


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "runs.db")


@pytest.fixture
def stored(cli, write_module, db):
    """Runs g1, g2 (greet on "tides", "waves") and f1 (failing on "tides") in ``db``; the
    module that defined them is deleted afterwards."""
    path = write_module("flows", "greet", "failing")
    for run_id, target, message in (("g1", "greet", "tides"), ("g2", "greet", "waves"),
                                    ("f1", "failing", "tides")):
        cli("--storage", db, "run", f"{path}:{target}", "--input",
            json.dumps({"message": message}), "--run-id", run_id, "--json")
    path.unlink()
    for name in ("flows", "flownb_user_flows"):
        sys.modules.pop(name, None)
    return db


def test_diff_prints_each_step_and_the_paths_that_changed(cli, stored):
    got = cli("--storage", stored, "diff", "g1", "g2")
    assert (got.code, got.err) == (0, "")
    assert got.out.splitlines() == [
        "A: g1 (greet, success)",
        "B: g2 (greet, success)",
        "~ shout  changed: input, output",
        '    input.message: "tides" -> "waves"',
        '    output.message: "TIDES" -> "WAVES"',
        "1 step: 1 changed",
    ]


def test_diff_shows_same_steps_and_steps_only_one_run_has(cli, stored):
    got = cli("diff", "g1", "f1", "--storage", stored)
    assert got.code == 0
    assert got.out.splitlines() == [
        "A: g1 (greet, success)",
        "B: f1 (failing, failed)",
        "  shout    same",
        "  explode  only in B",
        "2 steps: 0 changed, 1 only in B",
    ]
    assert cli("diff", "g1", "g1", "--storage", stored).out.splitlines()[2:] == [
        "  shout  same", "1 step: 0 changed"]


def test_diff_json(cli, stored):
    got = cli("--storage", stored, "diff", "g1", "g2", "--json")
    assert (got.code, got.err) == (0, "")
    assert json.loads(got.out) == {
        "a": {"run_id": "g1", "workflow_id": "greet", "status": "success"},
        "b": {"run_id": "g2", "workflow_id": "greet", "status": "success"},
        "steps": [{"path": "shout", "status": "changed", "fields": ["input", "output"],
                   "paths": ["input.message", "output.message"],
                   "differences": [{"path": "input.message", "a": "tides", "b": "waves"},
                                   {"path": "output.message", "a": "TIDES", "b": "WAVES"}]}],
    }


@pytest.mark.parametrize("argv", [["diff", "g1", "nope"], ["diff", "nope", "g1", "--json"]])
def test_an_unknown_run_exits_2_with_one_line(cli, stored, argv):
    got = cli("--storage", stored, *argv)
    assert (got.code, got.out) == (2, "")
    assert got.err == f"flownb: error: no stored run 'nope' in '{stored}'\n"


def test_user_strings_are_escaped(cli, write_module, db):
    path = write_module("flows", "greet")
    for run_id, message in (("a\x1b[2J", "x\x07"), ("b", "y")):
        assert cli("--storage", db, "run", f"{path}:greet", "--input",
                   json.dumps({"message": message}), "--run-id", run_id, "--json").code == 0
    got = cli("--storage", db, "diff", "a\x1b[2J", "b")
    assert got.code == 0 and "\x1b" not in got.out and "\x07" not in got.out
    assert got.out.splitlines()[0] == "A: a\\x1b[2J (greet, success)"
    assert '    input.message: "x\\u0007" -> "y"' in got.out.splitlines()
