"""The step tree (terminal/tree.py) and ``Run.__rich__``, on the exact text."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from rich.console import Console

import flownb
from flownb import create_step, create_workflow
from flownb.core.results import StepResult
from flownb.terminal.tree import (
    MAX_ITEMS,
    RunFacts,
    format_duration,
    loop_iterations,
    outline_tree,
    preview,
    status_tree,
)


class Msg(BaseModel):
    message: str


def passing(step_id: str, description: str | None = None):
    return create_step(id=step_id, description=description, input_schema=Any,
                       output_schema=Any, execute=lambda input_data: input_data)


def every_construct():
    inner = create_workflow(id="inner", input_schema=Any, output_schema=Any) \
        .then(passing("a")).commit()

    def is_long(input_data):
        return False

    return (create_workflow(id="tour", input_schema=Any, output_schema=Any,
                            description="Every construct")
            .then(passing("first", description="Takes [red]x[/red] in"))
            .parallel([inner, passing("b")])
            .branch([(is_long, passing("long")), (lambda input_data: True, passing("short"))])
            .map(lambda input_data: [1, 2, 3], id="to-list")
            .foreach(passing("each"), concurrency=2)
            .dountil(passing("again"), lambda input_data, iteration_count: True)
            .sleep(0.5)
            .sleep_until(datetime(2030, 1, 2, tzinfo=UTC))
            .commit())


def test_outline_shows_every_construct_and_escapes_user_text(console):
    console.print(outline_tree(every_construct().graph.description))
    assert console.export_text() == """\
workflow tour  Any → Any  Every construct
├── first  Any → Any  Takes [red]x[/red] in
├── ⇉ parallel-1  parallel: all at once
│   ├── inner  workflow  Any → Any
│   │   └── a  Any → Any
│   └── b  Any → Any
├── ◇ branch-1  branch: first true condition
│   ├── long  when is_long  Any → Any
│   └── short  when cond 2  Any → Any
├── to-list  map
├── each  foreach, 2 at a time  Any → Any
├── again  dountil  Any → Any
├── sleep-1  sleep 0.5 s
└── sleep-until-1  sleep until 2030-01-02T00:00:00+00:00
"""


def done(start: float, end: float, **fields: Any) -> dict[str, Any]:
    return StepResult("success", started_at=start, ended_at=end, attempts=1, **fields).to_dict()


def test_status_tree_of_a_run_in_progress(console):
    steps = {
        "first": done(0.0, 0.012),
        "inner": done(0.012, 0.5),
        "inner.a": done(0.012, 0.5),
        "b": StepResult("failed", started_at=0.012, ended_at=0.02, attempts=3,
                        error="ValueError: [red]no[/red]\nsecond line").to_dict(),
        "short": done(0.5, 0.6),
        "to-list": done(0.6, 0.6),
        "each": StepResult("running", payload=list(range(8)), started_at=0.6).to_dict(),
        **{f"each[{i}]": done(0.6, 0.7) for i in range(2)},
        **{f"each[{i}]": StepResult("running", started_at=0.7).to_dict() for i in range(2, 8)},
    }
    facts = RunFacts(steps=steps, status="running", now=2.1,
                     outputs={"short": {"note": "[b]hi[/b]"}})
    console.print(status_tree(every_construct().graph.description, facts))
    assert console.export_text() == """\
● tour  running  2.10 s…
├── ✓ first  12 ms
├── ⇉ parallel-1  parallel: all at once
│   ├── ✓ inner  workflow  488 ms
│   │   └── ✓ a  488 ms
│   └── ✗ b  8 ms  3 attempts  ValueError: [red]no[/red]
├── ◇ branch-1  branch: first true condition
│   ├── – long  when is_long  skipped
│   └── ✓ short  when cond 2  100 ms
│       └── » {"note": "[b]hi[/b]"}
├── ✓ to-list  map  0 ms
├── ● each  foreach, 2 at a time  1.50 s…  ━━━━━─────────────── 2/8
│   ├── ● each[2]  1.40 s…
│   ├── ● each[3]  1.40 s…
│   ├── ● each[4]  1.40 s…
│   ├── ● each[5]  1.40 s…
│   ├── ● each[6]  1.40 s…
│   └── … and 1 more
├── ○ again  dountil
├── ○ sleep-1  sleep 0.5 s
└── ○ sleep-until-1  sleep until 2030-01-02T00:00:00+00:00
"""


def test_a_stored_run_reads_like_a_live_one():
    """Stored dicts and StepResult objects give the same tree; loop iterations come from the
    journal, a suspended step waits, a branch nobody took is skipped once the run moved on;
    a step inside a foreach's workflow spans its instances (first start to last end)."""
    def is_big(input_data):
        return False

    items = create_workflow(id="per-item", input_schema=Any, output_schema=Any) \
        .then(passing("check")).commit()
    wf = (create_workflow(id="stored", input_schema=Any, output_schema=Any)
          .dowhile(passing("poll"), lambda input_data: False)
          .branch([(is_big, passing("big"))])
          .map(lambda input_data: ["x", "y"], id="items")
          .foreach(items)
          .commit())
    objects = {
        "poll": StepResult("success", started_at=10.0, ended_at=10.25, attempts=1),
        "items": StepResult("success", started_at=11.0, ended_at=11.0),
        "per-item": StepResult("suspended", payload=["x", "y"], started_at=11.0,
                               ended_at=12.0),
        "per-item[0]": StepResult("success", started_at=11.0, ended_at=11.5),
        "per-item[0].check": StepResult("success", started_at=11.0, ended_at=11.5),
        "per-item[1]": StepResult("suspended", started_at=11.0, ended_at=12.0),
        "per-item[1].check": StepResult("suspended", started_at=11.0, ended_at=12.0,
                                        suspend_payload={"why": "look"}),
    }
    journal = {"poll[@0?]": {"verdict": True}, "poll[@1?]": {"verdict": True},
               "poll[@2?]": {"verdict": False}, "branch-1[?]": {"choice": -1}}
    assert loop_iterations(journal) == {"poll": 3}
    texts = []
    for steps in (objects, {path: sr.to_dict() for path, sr in objects.items()}):
        facts = RunFacts(steps=steps, status="suspended", iterations=loop_iterations(journal))
        console = _console()
        console.print(status_tree(wf.graph.description, facts))
        texts.append(console.export_text())
    assert texts[0] == texts[1] == """\
‖ stored  suspended  2.00 s
├── ✓ poll  dowhile  3 iterations  250 ms
├── ◇ branch-1  branch: first true condition
│   └── – big  when is_big  skipped
├── ✓ items  map  0 ms
└── ‖ per-item  workflow  foreach, 1 at a time  1.00 s  ━━━━━━━━━━────────── 1/2
    ├── ‖ per-item[1]  1.00 s  waiting for resume
    └── ‖ check  1.00 s  waiting for resume
"""


def _console():
    return Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False,
                   record=True)


def test_small_formatters():
    assert [format_duration(s) for s in (None, -1, 0.0004, 0.5, 1, 59.994, 60, 3725)] == \
        ["", "0 ms", "0 ms", "500 ms", "1.00 s", "59.99 s", "1m 00s", "62m 05s"]
    assert preview({"a": "b" * 100}, 20) == '{"a": "bbbbbbbbbbbb…'
    assert preview(Msg(message="multi\nline")) == '{"message": "multi\\nline"}'
    assert preview(None) == "null"
    assert MAX_ITEMS == 5


def test_run_displays_itself_with_rich(still_clock, console):
    def boom(input_data: Msg):
        raise ValueError("no [b]way[/b]")

    ok = create_workflow(id="ok", input_schema=Msg, output_schema=Msg) \
        .then(create_step(id="echo", input_schema=Msg, output_schema=Msg,
                          execute=lambda input_data: input_data)).commit()
    bad = create_workflow(id="bad", input_schema=Msg, output_schema=Msg) \
        .then(create_step(id="explode", input_schema=Msg, output_schema=Msg,
                          execute=boom)).commit()
    pending = ok.create_run()
    console.print(pending)
    ran = ok.create_run()
    flownb.run_sync(ran.start(input_data={"message": "[i]hi[/i]"}))
    console.print(ran)
    failed = bad.create_run()
    flownb.run_sync(failed.start(input_data={"message": "x"}))
    console.print(failed)
    assert console.export_text() == """\
○ ok  pending
└── ○ echo
✓ ok  success  0 ms
└── ✓ echo  0 ms
╭─ ✓ result ───────────────╮
│ {"message": "[i]hi[/i]"} │
╰──────────────────────────╯
✗ bad  failed  0 ms
└── ✗ explode  0 ms  ValueError: no [b]way[/b]
╭─ ✗ failed at step 'explode' ─────────────────────╮
│ step 'explode' failed: ValueError: no [b]way[/b] │
╰──────────────────────────────────────────────────╯
Traceback (most recent call last):
""" + f'  File "{__file__}", line {boom.__code__.co_firstlineno + 1}, in boom\n' + """\
    raise ValueError("no [b]way[/b]")
ValueError: no [b]way[/b]
"""


def test_rich_is_not_imported_until_a_run_is_displayed():
    code = ("import sys, flownb\n"
            "wf = flownb.create_workflow(id='w').then(flownb.create_step(id='s', "
            "input_schema=int, output_schema=int, execute=lambda input_data: input_data))"
            ".commit()\n"
            "run = wf.create_run(); flownb.run_sync(run.start(input_data=1))\n"
            "print('rich' in sys.modules)\n"
            "from rich.console import Console; Console(width=40).print(run)\n")
    env = {**os.environ, "FLOWNB_STORAGE": ":memory:"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    lines = out.stdout.splitlines()
    assert lines[0] == "False"
    assert re.fullmatch(r"✓ w  success  \d+ ms", lines[1])
    assert re.fullmatch(r"└── ✓ s  \d+ ms", lines[2])
    assert lines[3:] == ["╭─ ✓ result ─╮", "│ 1          │", "╰────────────╯"]


def test_outcome_of_a_canceled_run(console):
    from flownb.terminal.view import outcome

    console.print(outcome("canceled", error="run 'r' of workflow 'w' was canceled"))
    assert console.export_text() == """\
╭─ ⊘ canceled ─────────────────────────╮
│ run 'r' of workflow 'w' was canceled │
╰──────────────────────────────────────╯
"""
