"""Following a run (``LiveView``): plain lines off a terminal, a throttled live tree on one."""

from __future__ import annotations

import asyncio
import io
import re
import time
from typing import Any

import pytest
from pydantic import BaseModel
from rich.console import Console

from flownb import create_step, create_workflow
from flownb.terminal import LiveView, outcome

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Doc(BaseModel):
    title: str


class Answer(BaseModel):
    ok: bool


def make_workflow():
    def split(input_data: Doc, emit):
        emit({"words": len(input_data.title.split())})
        return [{"title": w} for w in input_data.title.split()]

    def check(input_data: Doc):
        if input_data.title == "bad":
            raise ValueError("bad [b]word[/b]")
        return input_data

    def approve(input_data: Any, resume_data: Answer | None, suspend):
        if resume_data is None:
            return suspend({"question": "[bold]ok?[/bold]"})
        return input_data

    inner = (create_workflow(id="inner", input_schema=Any, output_schema=Any)
             .then(create_step(id="approve", input_schema=Any, output_schema=Any,
                               resume_schema=Answer, execute=approve))
             .commit())
    return (create_workflow(id="docs", input_schema=Doc, output_schema=Any)
            .then(create_step(id="split", input_schema=Doc, output_schema=list[Doc],
                              execute=split))
            .foreach(create_step(id="check", input_schema=Doc, output_schema=Doc,
                                 execute=check), concurrency=2)
            .sleep(0)
            .then(inner)
            .commit())


async def test_plain_lines_off_a_terminal(still_clock, console):
    wf = make_workflow()
    run = wf.create_run(run_id="run-1")
    async with LiveView(run, console=console) as view:
        result = await run.start(input_data={"title": "a b c"})
    assert not view.live and view.redraws == 0
    console.print(outcome(result.status, steps=result.steps, suspended=result.suspended))
    assert console.export_text() == """\
run run-1 of workflow 'docs' started
» split  {"words": 3}
✓ split  success  0 ms
✓ check  success  0 ms  3 items
… sleep-1  waiting 0 s
✓ sleep-1  success  0 ms
‖ inner.approve  suspended  {"question": "[bold]ok?[/bold]"}
╭─ ‖ suspended at step 'inner.approve' ─╮
│ {"question": "[bold]ok?[/bold]"}      │
╰───────────────────────────────────────╯
"""
    async with LiveView(run, console=console, live=False):
        result = await run.resume({"ok": True})
    assert result.status == "success"
    assert console.export_text() == """\
run run-1 of workflow 'docs' resumed
✓ inner.approve  success  0 ms
✓ inner  success  0 ms
"""


async def test_plain_lines_name_the_failing_item(still_clock, console):
    run = make_workflow().create_run(run_id="run-2")
    async with LiveView(run, console=console, live=False):
        result = await run.start(input_data={"title": "good bad"})
    console.print(outcome(result.status, error=result.error, steps=result.steps))
    assert console.export_text() == """\
run run-2 of workflow 'docs' started
» split  {"words": 2}
✓ split  success  0 ms
✗ check[1]  failed  0 ms  ValueError: bad [b]word[/b]
✗ check  failed  0 ms  2 items: 1 success, 1 failed
╭─ ✗ failed at step 'check[1]' ───────────────────────╮
│ step 'check[1]' failed: ValueError: bad [b]word[/b] │
╰─────────────────────────────────────────────────────╯
"""


async def test_live_view_ticks_space_out_when_a_redraw_is_costly(monkeypatch):
    async def slow(input_data: int) -> int:
        await asyncio.sleep(0.005)
        return input_data

    item = create_step(id="item", input_schema=int, output_schema=int, execute=slow)
    wf = (create_workflow(id="costly", input_schema=list[int], output_schema=list[int])
          .foreach(item, concurrency=1).commit())
    console = Console(file=io.StringIO(), width=100, color_system=None, force_terminal=True)
    run = wf.create_run()
    tree = LiveView.renderable

    def costly(self: LiveView) -> Any:  # the tree of a very large run: 20 ms to build
        time.sleep(0.02)
        return tree(self)

    monkeypatch.setattr(LiveView, "renderable", costly)
    began = time.perf_counter()
    async with LiveView(run, console=console, refresh_per_second=10) as view:
        await run.start(input_data=list(range(80)))  # >= 0.4 s
    elapsed = time.perf_counter() - began
    # Ten ticks a second would redraw ~elapsed * 10 times; ten times the 20 ms cost
    # apart, at most elapsed / 0.2 + the first draw.
    assert 2 <= view.redraws <= elapsed / 0.2 + 2


async def test_live_view_redraws_at_its_rate_not_per_event():
    async def noop(input_data: int) -> int:
        await asyncio.sleep(0)
        return input_data

    item = create_step(id="item", input_schema=int, output_schema=int, execute=noop)
    wf = (create_workflow(id="many", input_schema=list[int], output_schema=list[int])
          .foreach(item, concurrency=50).commit())
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None, force_terminal=True)
    run = wf.create_run()
    events = []
    run.watch(events.append)
    began = time.perf_counter()
    async with LiveView(run, console=console, refresh_per_second=8) as view:
        result = await run.start(input_data=list(range(1000)))
    elapsed = time.perf_counter() - began
    assert result.status == "success" and view.live
    assert len(events) > 2000
    assert 1 <= view.redraws <= 2 + elapsed * 8
    # After the live region is erased, the whole final tree is printed once.
    tail = ANSI.sub("", out.getvalue().rsplit("\x1b[?25h", 1)[-1])
    final = [line for line in tail.splitlines() if line]
    assert len(final) == 2 and final[0].startswith("✓ many  success  ")
    assert final[1].startswith("└── ✓ item  foreach, 50 at a time  ")
    assert final[1].endswith("  ━━━━━━━━━━━━━━━━━━━━ 1000/1000")


async def test_live_view_shows_custom_output_while_running():
    release = asyncio.Event()

    async def talk(input_data: int, emit) -> int:
        emit({"said": "[red]hello[/red]"})
        await release.wait()
        return input_data

    wf = create_workflow(id="talky", input_schema=int, output_schema=int) \
        .then(create_step(id="talk", input_schema=int, output_schema=int, execute=talk)) \
        .commit()
    run = wf.create_run()
    console = Console(file=io.StringIO(), width=100, color_system=None, force_terminal=True)
    async with LiveView(run, console=console, get_time=lambda: 0.0) as view:
        task = asyncio.ensure_future(run.start(input_data=1))
        while "talk" not in view.outputs:
            await asyncio.sleep(0)
        shown = Console(file=io.StringIO(), width=100, color_system=None, record=True)
        shown.print(view.renderable())
        release.set()
        await task
    lines = shown.export_text().splitlines()
    assert lines[0].startswith("● talky  running  ")
    assert lines[1].startswith("└── ● talk  ")
    assert lines[2] == '    └── » {"said": "[red]hello[/red]"}'


def test_refresh_rate_is_capped():
    wf = create_workflow(id="w", input_schema=int, output_schema=int) \
        .then(create_step(id="s", input_schema=int, output_schema=int,
                          execute=lambda input_data: input_data)).commit()
    with pytest.raises(ValueError, match="refresh_per_second"):
        LiveView(wf.create_run(), refresh_per_second=30)


def test_the_old_name_still_works_and_warns():
    import flownb.terminal

    with pytest.warns(DeprecationWarning, match="now flownb.terminal.LiveView"):
        assert flownb.terminal.RunView is LiveView
