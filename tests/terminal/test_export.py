"""``flownb export RUN_ID -o FILE.html``: a stored run's HTML report, from the store alone."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "runs.db")


def test_export_writes_the_report_of_a_stored_run_without_its_code(cli, write_module, db,
                                                                   tmp_path):
    path = write_module("flows", "failing")
    got = cli("--storage", db, "run", f"{path}:failing", "--input", '{"message": "<i>x</i>"}',
              "--run-id", "r<1>", "--json")
    assert got.code == 1
    path.unlink()  # the workflow's code is gone: export reads the snapshot alone
    for name in ("flows", "flownb_user_flows"):
        sys.modules.pop(name, None)
    out = tmp_path / "report.html"
    got = cli("export", "r<1>", "-o", str(out), "--storage", db)
    assert (got.code, got.out, got.err) == (0, f"wrote {out}\n", "")
    html = out.read_text(encoding="utf-8")
    assert "<svg" in html and 'id="step:explode"' in html
    assert 'href="#step-shout"' in html and 'href="#step-explode"' in html
    assert "ValueError: no way" in html and "r&lt;1&gt;" in html
    assert "&lt;i&gt;x&lt;/i&gt;" in html and "<i>x</i>" not in html


@pytest.mark.parametrize(("argv", "message"), [
    (["export", "nope", "-o", "{tmp}/r.html"], "flownb: error: no stored run 'nope' in '{db}'"),
    (["export", "nope"], "flownb: error: the following arguments are required: -o/--output "
                         "(see 'flownb export --help')"),
])
def test_export_usage_errors_exit_2_with_one_line(cli, db, tmp_path, argv, message):
    got = cli("--storage", db, *[a.format(tmp=tmp_path) for a in argv])
    assert got.code == 2
    assert got.err == message.format(db=db) + "\n"


def test_export_to_an_unwritable_path_exits_2(cli, write_module, db, tmp_path):
    path = write_module("flows", "greet")
    assert cli("--storage", db, "run", f"{path}:greet", "--input", '{"message": "a"}',
               "--run-id", "g", "--json").code == 0
    target = tmp_path / "missing-dir" / "r.html"
    got = cli("--storage", db, "export", "g", "-o", str(target))
    assert got.code == 2
    assert got.err == f"flownb: error: cannot write '{target}': No such file or directory\n"
