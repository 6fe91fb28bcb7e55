"""`flownb inspect` says what changed in the workflow since a stored run (SPEC §4b), as the
live view does; `flownb inspect` and `flownb runs` say which run a fork was forked from."""

from __future__ import annotations

import sys

import pytest

import flownb
from flownb.storage import SQLiteStore
from flownb.terminal.inspect import changes_notice

CHANGED = '''
def whisper(input_data: Msg):
    return {"message": input_data.message.lower()}


greet = (create_workflow(id="greet", input_schema=Msg, output_schema=Msg)
         .then(create_step(id="shout", input_schema=Msg, output_schema=Msg, execute=whisper))
         .commit())
'''


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "runs.db")


def forget(name: str) -> None:
    """Drop the imported module, so the next load reads the file as it is now."""
    for key in (name, f"flownb_user_{name}"):
        sys.modules.pop(key, None)


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_inspect_prints_the_changes_since_the_run(cli, write_module, db):
    path = write_module("flows", "greet")
    got = cli("--storage", db, "run", f"{path}:greet", "--input", '{"message": "hi"}',
              "--run-id", "r1")
    assert got.code == 0
    same = cli("--storage", db, "inspect", "r1")
    assert same.code == 0 and "changed since" not in same.out

    forget("flows")
    write_module("flows", CHANGED)
    got = cli("--storage", db, "inspect", "r1")
    assert got.code == 0
    out = lines(got.out)
    at = out.index("⚠ the workflow changed since this run was stored:")
    assert out[at + 1].startswith("  shout code: the code of step 'shout'")
    assert out.index("run       r1") < at < out.index("steps")


def test_inspect_without_a_loadable_origin_prints_no_notice(cli, write_module, db, tmp_path):
    path = write_module("gone", "greet")
    assert cli("--storage", db, "run", f"{path}:greet", "--input", '{"message": "hi"}',
               "--run-id", "r2").code == 0
    forget("gone")
    path.unlink()
    got = cli("--storage", db, "inspect", "r2")
    assert got.code == 0 and "changed since" not in got.out and "run       r2" in got.out


def test_the_notice_is_escaped(console):
    notice = changes_notice([{"path": "a\x1b[31m", "kind": "code", "detail": "[bold]x"}])
    assert notice is not None
    console.print(notice)
    text = console.export_text()
    assert "\x1b" not in text and "[bold]x" in text
    assert changes_notice([]) is None


def test_runs_and_inspect_mark_a_fork(cli, write_module, db):
    path = write_module("forky", "greet")
    assert cli("--storage", db, "run", f"{path}:greet", "--input", '{"message": "hi"}',
               "--run-id", "p1").code == 0
    from flownb.discovery import load_origin

    store = SQLiteStore(db)
    try:
        flownb.configure(storage=store)
        wf = load_origin(f"{path}:greet", "greet")
        wf.create_run(run_id="p1").fork("shout", input_data={"message": "yo"}, run_id="f1")
    finally:
        store.close()
    got = cli("--storage", db, "runs")
    assert got.code == 0
    out = lines(got.out)
    row = next(i for i, line in enumerate(out) if line.startswith("f1 "))
    assert out[row + 1].strip() == "⑂ fork of p1 at shout"
    assert not any("fork of" in line for line in out[:row])
    got = cli("--storage", db, "inspect", "f1")
    assert "forked    ⑂ fork of p1 at shout" in lines(got.out)
