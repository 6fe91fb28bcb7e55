"""``flownb runs`` stays readable on an 80-column terminal."""

from __future__ import annotations

import io
import json
import re

from rich.cells import cell_len
from rich.console import Console

from flownb.core.results import RunInfo
from flownb.terminal.inspect import runs_table


def test_runs_table_at_80_columns_keeps_id_status_and_time_whole():
    run_id = "f29c6f333b4542d1a03d94d949bcf991"
    info = RunInfo(run_id=run_id, workflow_id="batch-process-documents", status="suspended",
                   created_at=1_000.0, updated_at=1_001.0,
                   suspended=[["approve-publication"]])
    out = io.StringIO()
    Console(file=out, width=80, color_system=None, force_terminal=False).print(
        runs_table([info]))
    text = out.getvalue()
    assert run_id in text
    assert "suspended" in text
    first_row = text.splitlines()[1]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:40$", first_row.rstrip())  # whole time
    assert max(len(line) for line in text.splitlines()) <= 80
    # the workflow is cut with an ellipsis on the run's line, not folded onto the next
    assert "batch-proc" in first_row and "…" in first_row and "documents" not in text


def _inbox(cli, write_module, db, monkeypatch, columns: int) -> tuple[str, str]:
    """``flownb inbox`` of one suspended run (an id as long as flownb's own) at ``columns``."""
    run_id = "01a24e850e2e72ada6089464d629cb9a"
    path = write_module("inboxflows", "review")
    assert cli("--storage", db, "run", f"{path}:review", "--input", '{"message": "x"}',
               "--run-id", run_id, "--no-live").code == 3
    monkeypatch.setenv("COLUMNS", str(columns))
    got = cli("--storage", db, "inbox")
    assert got.code == 0 and got.err == ""
    return run_id, got.out


def test_inbox_at_80_columns_shows_each_run_whole_in_a_block(cli, write_module, tmp_path,
                                                             monkeypatch):
    db = str(tmp_path / "runs.db")
    run_id, out = _inbox(cli, write_module, db, monkeypatch, 80)
    lines = [line.rstrip() for line in out.splitlines()]
    assert lines[0] == f"{run_id}  review"
    assert lines[1].startswith("  waiting at approve  since ")
    assert lines[2].startswith("  asks {")
    assert lines[3] == f"  to resume flownb --storage {db} resume {run_id}"
    assert "…" not in out  # nothing cut: ids and the command are copied


def test_inbox_on_a_wide_terminal_is_a_table_with_every_column_whole(cli, write_module,
                                                                     tmp_path, monkeypatch):
    db = str(tmp_path / "runs.db")
    run_id, out = _inbox(cli, write_module, db, monkeypatch, 300)
    lines = [line.rstrip() for line in out.splitlines()]
    assert re.fullmatch(r"run id +workflow +waiting at +since +asks +to resume", lines[0])
    row = lines[1]
    assert row.startswith(f"{run_id}  review") and " approve " in row
    assert row.endswith(f"flownb --storage {db} resume {run_id}")
    assert max(len(line) for line in lines) <= 300


def test_inspect_at_80_columns_has_an_error_column_only_when_a_step_failed(
        cli, write_module, tmp_path, monkeypatch):
    db = str(tmp_path / "runs.db")
    path = write_module("inspectflows", "review", "failing")
    for wf, run_id in (("review", "a" * 32), ("failing", "b" * 32)):
        cli("--storage", db, "run", f"{path}:{wf}", "--input", '{"message": "x"}',
            "--run-id", run_id, "--no-live")
    monkeypatch.setenv("COLUMNS", "80")
    waiting = cli("--storage", db, "inspect", "a" * 32).out.splitlines()
    header = waiting[waiting.index("steps") + 1].rstrip()
    assert re.fullmatch(r"step +status +duration +tries +input +output", header)
    assert max(len(line) for line in waiting) <= 80
    failed = cli("--storage", db, "inspect", "b" * 32).out.splitlines()
    header = failed[failed.index("steps") + 1].rstrip()
    assert header.split()[-1] == "error"  # whole, not folded into "erro" and "r"


LONG_RESULT = '''
numbers = (create_workflow(id="numbers", input_schema=int, output_schema=list[int])
           .then(create_step(id="count", input_schema=int, output_schema=list[int],
                             execute=lambda input_data: list(range(input_data))))
           .commit())
'''


def test_a_long_result_is_cut_to_its_first_items_where_it_ends_a_run(cli, write_module,
                                                                      tmp_path):
    db = str(tmp_path / "runs.db")
    path = write_module("longflows", LONG_RESULT)
    got = cli("--storage", db, "run", f"{path}:numbers", "--input", "2000", "--no-live")
    assert got.code == 0
    lines = got.out.splitlines()
    assert len(lines) < 40  # not 2,000 numbers; as many to a line as fit
    shown = [int(n) for line in lines[3:-2] for n in line.strip("│ [],").split(", ") if n]
    assert shown == list(range(len(shown))) and len(shown) > 200
    assert lines[-1] == (f"… and {2000 - len(shown):,} more items (--json prints the whole "
                         "result)")
    whole = cli("--storage", db, "run", f"{path}:numbers", "--input", "2000", "--json")
    assert json.loads(whole.out)["result"] == list(range(2000))
    short = cli("--storage", db, "run", f"{path}:numbers", "--input", "3", "--no-live")
    assert "more items" not in short.out and "│ [0, 1, 2]  │" in short.out


def test_the_inbox_shows_ids_and_payloads_as_written_not_as_markup_and_measures_cells(
        cli, write_module, tmp_path, monkeypatch):
    db = str(tmp_path / "runs.db")
    path = write_module("markupflows", '''
marked = (create_workflow(id="审批-flow", input_schema=Msg, output_schema=Msg)
          .then(ask_step()).commit())
''')
    assert cli("--storage", db, "run", f"{path}:marked", "--input",
               '{"message": "[red]x[/red]"}', "--run-id", "r[i]1", "--no-live").code == 3
    for columns in (80, 300):
        monkeypatch.setenv("COLUMNS", str(columns))
        out = cli("--storage", db, "inbox").out
        assert "r[i]1" in out and "审批-flow" in out and "publish [red]x[/red]?" in out
    # the table (at 300) fits: its widths are counted in cells (审批 takes four)
    assert max(cell_len(line.rstrip()) for line in out.splitlines()) <= 300
    assert re.match(r"r\[i\]1 +审批-flow +approve +", out.splitlines()[1])


def _plan_text(width: int) -> str:
    from types import SimpleNamespace

    from flownb.core.plan import PlanItem
    from flownb.terminal.plan import plan_table

    run_id = "01a24eb8145e7f3d9140db2463be34c4"
    source = {"run_id": run_id, "path": "add-the-numbers-together"}
    plan = SimpleNamespace(workflow=SimpleNamespace(id="cached-pipeline"), items=lambda: {
        "add-the-numbers-together": PlanItem("reuse", "unchanged since run …63be34c4", source),
        "each[3]": PlanItem("reuse", "unchanged since run …63be34c4",
                            {"run_id": run_id, "path": "each[7]"}),
        "double": PlanItem("run", "input changed: input")}.items())
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, force_terminal=False).print(
        plan_table(plan))
    return out.getvalue()


def test_plan_at_80_columns_keeps_step_ids_whole_and_says_the_source_run_under_it():
    text = _plan_text(80)
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[1].split() == ["step", "status", "reason"]  # no "reused from" column
    assert lines[2].startswith("add-the-numbers-together  ↺ reuse  unchanged since run")
    assert "↺ reused from run 01a24eb8145e7f3d9140db2463be34c4: add-the-numbers-together, " \
        "each[3] (as each[7])" in " ".join(lines)  # the whole id, copied as it is
    assert "01a24eb8145e7f3d9140db2463be34c4" in text
    assert max(cell_len(line) for line in lines) <= 80


def test_plan_on_a_wide_terminal_is_one_table_with_where_each_reused_step_comes_from():
    lines = [line.rstrip() for line in _plan_text(160).splitlines()]
    assert lines[1].split() == ["step", "status", "reason", "reused", "from"]
    assert lines[2].endswith("run 01a24eb8145e7f3d9140db2463be34c4")
    assert lines[3].endswith("run 01a24eb8145e7f3d9140db2463be34c4 · each[7]")
    assert not any("↺ reused from" in line for line in lines)
