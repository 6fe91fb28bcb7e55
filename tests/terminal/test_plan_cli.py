"""``flownb plan``, ``flownb cache clear``, the plan table and the "↺ reused" note."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from flownb import create_step, create_workflow
from flownb.core.plan import Plan, PlanItem
from flownb.storage import MemoryStore
from flownb.terminal.plan import plan_table
from flownb.terminal.view import LiveView

CACHED = '''
def add(input_data: int) -> int:
    return input_data + 1


def double(input_data: int) -> int:
    return input_data * 2


cached = (create_workflow(id="cached", input_schema=int, output_schema=int, cache=True)
          .then(create_step(id="add", input_schema=int, output_schema=int, execute=add))
          .then(create_step(id="double", input_schema=int, output_schema=int, execute=double))
          .commit())
'''


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "runs.db")


def lines(text):
    return [line.rstrip() for line in text.splitlines()]


def test_plan_table_lists_step_status_reason_and_origin(console):
    wf = SimpleNamespace(id="w\x1b[2J")  # what a Plan reads of its workflow
    plan = Plan(wf, {"a": PlanItem("reuse", "unchanged since run 3f2a9c01",
                                   {"run_id": "3f2a9c01ff", "path": "a"}),
                     "b\x07": PlanItem("run", "code changed: b\nsecond line"),
                     "c": PlanItem("depends", "its input comes from a step that will run "
                                              "(after 'b')")})
    console.print(plan_table(plan))
    assert lines(console.export_text()) == [
        "plan of workflow w\\x1b[2J",
        "step   status     reason                                                 reused from",
        "a      ↺ reuse    unchanged since run 3f2a9c01                           run 3f2a9c01ff",
        "b\\x07  ▶ run      code changed: b\\nsecond line",
        "c      ⋯ depends  its input comes from a step that will run (after 'b')",
        "1 reused, 1 runs, 1 depends",
    ]


def test_plan_is_the_rich_display_of_a_plan(console):
    wf = create_workflow(id="w", storage=False).then(
        create_step(id="a", input_schema=int, output_schema=int,
                    execute=lambda input_data: input_data)).commit()
    console.print(Plan(wf, {"a": PlanItem("run", "no earlier run")}))
    assert "a     ▶ run   no earlier run" in console.export_text()


def test_flownb_plan_then_cache_clear(cli, write_module, db):
    path = write_module("cachedflows", CACHED)
    target = f"{path}:cached"
    got = cli("--storage", db, "plan", target, "--input", "1")
    assert got.code == 0 and got.err == ""
    assert lines(got.out)[1:4] == [
        "step    status     reason",  # nothing reused: no "reused from" column
        "add     ▶ run      no earlier run",
        "double  ⋯ depends  its input comes from a step that will run (after 'add')",
    ]
    run = cli("--storage", db, "run", target, "--input", "1", "--json")
    run_id = json.loads(run.out)["run_id"]
    got = cli("--storage", db, "plan", target, "--input", "1", "--json")
    data = json.loads(got.out)
    assert {p: i["status"] for p, i in data.items()} == {"add": "reuse", "double": "reuse"}
    assert data["add"]["cached_from"] == {"run_id": run_id, "path": "add"}
    got = cli("--storage", db, "plan", target, "--input", "1")
    assert f"run {run_id}" in got.out
    again = cli("--storage", db, "run", target, "--input", "1", "--no-live")
    assert "✓ add  success" in again.out and "↺ reused" in again.out
    changed = cli("--storage", db, "plan", target, "--input", "5", "--json")
    assert json.loads(changed.out)["add"]["reason"] == "input changed: input"
    cleared = cli("--storage", db, "cache", "clear")
    assert cleared.code == 0 and cleared.out.startswith("forgot ")
    assert "cached step execution" in cleared.out and db in cleared.out
    assert cli("--storage", db, "cache", "clear").out.startswith("forgot 0 cached step "
                                                                  "executions")
    after = json.loads(cli("--storage", db, "plan", target, "--input", "1", "--json").out)
    assert after["add"]["status"] == "run"


def test_flownb_plan_bad_input_and_state(cli, write_module, db):
    path = write_module("cachedflows2", CACHED)
    bad = cli("--storage", db, "plan", f"{path}:cached", "--input", '"nope"')
    assert bad.code == 2 and "flownb: error:" in bad.err
    bad_json = cli("--storage", db, "plan", f"{path}:cached", "--state", "{")
    assert bad_json.code == 2 and "--state is not valid JSON" in bad_json.err
    assert cli("--storage", db, "cache", "purge").code == 2


async def test_plain_lines_mark_a_reused_step(console, still_clock):
    store = MemoryStore()
    wf = create_workflow(id="w", input_schema=int, output_schema=int, storage=store,
                         cache=True).then(
        create_step(id="a", input_schema=int, output_schema=int,
                    execute=lambda input_data: input_data + 1)).commit()
    await wf.create_run().start(input_data=1)
    run = wf.create_run()
    async with LiveView(run, console=console, live=False):
        await run.start(input_data=1)
    assert "✓ a  success  0 ms  ↺ reused" in lines(console.export_text())
    view = LiveView(run, console=console)
    console.print(view.renderable())
    assert any(line.endswith("a  0 ms  ↺ reused") for line in lines(console.export_text()))


def test_flownb_runs_delete_forgets_the_run_and_its_cache_entries(cli, write_module, db):
    path = write_module("cachedflows3", CACHED)
    target = f"{path}:cached"
    run_id = json.loads(cli("--storage", db, "run", target, "--input", "1", "--json").out)[
        "run_id"]
    other = json.loads(cli("--storage", db, "run", target, "--input", "2", "--json").out)[
        "run_id"]
    got = cli("--storage", db, "runs", "--delete", run_id)
    assert got.code == 0 and got.out.startswith(f"deleted run {run_id} from ")
    listed = json.loads(cli("--storage", db, "runs", "--json").out)
    assert [r["run_id"] for r in listed] == [other]
    plan = json.loads(cli("--storage", db, "plan", target, "--input", "1", "--json").out)
    assert plan["add"]["status"] == "run"  # its cache entries went with it
    plan = json.loads(cli("--storage", db, "plan", target, "--input", "2", "--json").out)
    assert plan["add"]["status"] == "reuse"  # the other run's stay
    missing = cli("--storage", db, "runs", "--delete", "nope\x1b[2J")
    assert missing.code == 1 and "no stored run nope\\x1b[2J in " in missing.err
