"""The browser rows: a 100,000-item foreach watched in a real JupyterLab, in Chromium.

A throwaway JupyterLab on 127.0.0.1 (its own token, port, root, config and settings
directories, the kernel of this venv's Python) and a headless Debian Chromium driven by
Playwright. The notebook shows a ``RunView`` of a foreach of trivial items (each yields to
the loop once, so the view's timer gets turns) and then runs it; meanwhile:

* every websocket frame the page receives is seen from Playwright (outside the page, so
  counting costs the page nothing): the view's ``comm_msg`` updates give messages per
  second (over the run's wall time, measured in the kernel) and bytes per message (the
  whole frame, as the browser receives it, Jupyter's headers included);
* ``live.js`` records how long each state update took to apply to the DOM
  (``performance.now()`` around ``LiveView.update``) in ``globalThis.__flownbUpdateMs``;
  the row is the median of those over the runs.

Without Playwright, Chromium or JupyterLab the rows print with "n/a (why)".
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib.util
import json
import re
import secrets
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import Row

__all__ = ["rows"]

REPO = Path(__file__).resolve().parents[1]
UPDATE_GOAL_MS = 16.0

# The notebook: a view of a new run (shown before the run starts, so the page has drawn it),
# then the run, which prints what the kernel saw as one JSON line.
_SETUP = '''\
import asyncio, json, time

from pydantic import BaseModel

from flownb import create_step, create_workflow
from flownb.notebook import RunView


class Num(BaseModel):
    n: int


async def work(input_data: Num) -> dict[str, int]:
    await asyncio.sleep(0)  # trivial, but yields: the view's timer gets turns
    return {"n": input_data.n * 2}


wf = (create_workflow(id="browser-bench", input_schema=list[Num], output_schema=list[Num],
                      storage=False)
      .foreach(create_step(id="item", input_schema=Num, output_schema=Num, execute=work),
               concurrency=10)
      .commit())
'''
_VIEW = '''\
run = wf.create_run()
view = RunView(run)
view
'''
_RUN = '''\
before = view.stats
began = time.perf_counter()
result = await run.start([{{"n": i}} for i in range({items})])
seconds = time.perf_counter() - began
after = view.stats
print(json.dumps({{"status": result.status, "seconds": seconds, "model_id": view.model_id,
                  "updates": after["updates"] - before["updates"],
                  "first_seq": before["updates"] + 1,
                  "events": after["events"] - before["events"]}}))
'''

# Runs cell `index` and resolves once it ran (NotebookActions.run waits for the reply), or
# with 'timeout' after `ms`. This and _OUTPUTS follow lab.py's findPanel.
_RUN_CELL = """
return async ([path, index, ms]) => {
  const app = window.jupyterapp;
  const panel = findPanel(path);
  app.shell.activateById(panel.id);
  panel.content.activeCellIndex = index;
  let timer;
  const limit = new Promise(resolve => { timer = setTimeout(() => resolve('timeout'), ms); });
  try {
    return await Promise.race(
      [app.commands.execute('notebook:run-cell', {widgetId: panel.id}), limit]);
  } finally {
    clearTimeout(timer);
  }
};
"""
_OUTPUTS = """
return ([path, index]) => findPanel(path).content.widgets[index].model.outputs.toJSON();
"""


def _notebook(items: int) -> dict[str, Any]:
    def cell(source: str) -> dict[str, Any]:
        return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                "source": source}

    return {"cells": [cell(_SETUP), cell(_VIEW), cell(_RUN.format(items=items))],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


# ------------------------------------------------------------------------- the frames


def _lab() -> Any:
    """``tests/browser/lab.py``: the JupyterLab server, Chromium and page helpers of the
    browser tests, used as they are (loaded by path: the tests are not a package)."""
    module = sys.modules.get("_flownb_browser_lab")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            "_flownb_browser_lab", REPO / "tests" / "browser" / "lab.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up by name
        spec.loader.exec_module(module)
    return module


_COMM_MSG = re.compile(rb'"msg_type"\s*:\s*"comm_msg"')


@dataclass
class _Frames:
    """Websocket frames the page received that may be comm messages: (bytes, payload)."""

    seen: list[bytes] = field(default_factory=list)

    def on_websocket(self, ws: Any) -> None:
        ws.on("framereceived", self._received)

    def _received(self, payload: str | bytes) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        if _COMM_MSG.search(data[:4096]):
            self.seen.append(data)

    def updates(self, model_id: str, first_seq: int) -> list[int]:
        """Sizes of the frames that updated the view's ``state`` during the run."""
        sizes = []
        for data in self.seen:
            content = _content(data)
            if content is None or content.get("comm_id") != model_id:
                continue
            state = (content.get("data") or {}).get("state") or {}
            if isinstance(state, dict) and isinstance(state.get("state"), dict) \
                    and state["state"].get("seq", 0) >= first_seq:
                sizes.append(len(data))
        return sizes


def _content(data: bytes) -> dict[str, Any] | None:
    """A comm message's content, from a JSON frame or one of Jupyter's binary (v1) frames."""
    if data[:1] == b"{":
        try:
            content: dict[str, Any] = json.loads(data)["content"]
        except (ValueError, KeyError):
            return None
        return content
    # v1.kernel.websocket.jupyter.org: n, then n offsets (uint64 LE); the parts between
    # them are channel, header, parent header, metadata, content, buffers...
    try:
        n = int.from_bytes(data[:8], "little")
        offsets = [int.from_bytes(data[8 * (k + 1):8 * (k + 2)], "little") for k in range(n)]
        offsets.append(len(data))
        result: dict[str, Any] = json.loads(data[offsets[4]:offsets[5]])
    except (ValueError, IndexError):
        return None
    return result


# ------------------------------------------------------------------------- the measure


@dataclass
class _Run:
    items: int
    seconds: float
    messages: int
    bytes: list[int]
    update_ms: list[float]
    kernel_updates: int
    events: int
    frame_ms: list[float]


def _measure(items: int, runs: int) -> list[_Run]:
    from playwright.sync_api import sync_playwright

    helpers = _lab()
    base = Path(tempfile.mkdtemp(prefix="flownb-bench-browser-"))
    lab = helpers.start_lab(base, log_path=base / "jupyter-server.log")
    try:
        with sync_playwright() as playwright:
            browser = helpers.launch_chromium(playwright, helpers.chromium_path())
            try:
                lab.wait_ready(60)
                return [_one_run(browser, lab, items, k) for k in range(runs)]
            finally:
                browser.close()
    finally:
        with contextlib.suppress(Exception):  # the server may be gone already
            lab.shutdown_kernels()
        lab.stop()
        shutil.rmtree(base, ignore_errors=True)


def _one_run(browser: Any, lab: Any, items: int, k: int) -> _Run:
    """One page, one notebook, one kernel, one run of the foreach."""
    helpers = _lab()
    js, find_panel = helpers._js, helpers._FIND_PANEL
    path = f"bench-{k}.ipynb"
    (lab.root / path).write_text(json.dumps(_notebook(items)))
    lab.start_session(path, "python3")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        frames = _Frames()
        page.on("websocket", frames.on_websocket)
        page.goto(lab.lab_url(path, workspace=f"bench-{k}-{secrets.token_hex(3)}"))
        page.wait_for_function(js(helpers._READY), arg=path, timeout=60_000, polling=50)
        for cell in (0, 1):
            if page.evaluate(js(find_panel + _RUN_CELL), [path, cell, 60_000]) is not True:
                outputs = page.evaluate(js(find_panel + _OUTPUTS), [path, cell])
                raise RuntimeError(f"cell {cell} of the notebook did not run: {outputs!r}"[:300])
        page.wait_for_selector(".flownb-run-view .flownb-graph svg", timeout=30_000)
        page.wait_for_timeout(300)  # the first draw and layout are not updates of the run
        # Long animation frames (rendering included) while the run streams, for the note.
        page.evaluate("""() => {
          globalThis.__flownbUpdateMs = [];
          globalThis.__benchFrames = [];
          try {
            new PerformanceObserver((list) => {
              for (const e of list.getEntries()) globalThis.__benchFrames.push(e.duration);
            }).observe({type: 'long-animation-frame'});
          } catch (e) { /* an older Chromium: no frame figures */ }
        }""")
        ok = page.evaluate(js(find_panel + _RUN_CELL), [path, 2, 300_000]) is True
        # The last update reaches the page after the reply: wait for the view to say so.
        page.wait_for_selector('.flownb-run-view[data-status="success"]', timeout=60_000)
        page.wait_for_timeout(300)
        outputs = page.evaluate(js(find_panel + _OUTPUTS), [path, 2])
        text = "".join("".join(o.get("text", "")) for o in outputs
                       if o.get("output_type") == "stream")
        if not ok or not text.strip().startswith("{"):
            raise RuntimeError(f"the run cell did not run cleanly: {outputs!r}"[:2000])
        seen = json.loads(text.strip().splitlines()[-1])
        update_ms = page.evaluate("() => globalThis.__flownbUpdateMs || []")
        frame_ms = page.evaluate("() => globalThis.__benchFrames || []")
        sizes = frames.updates(seen["model_id"], seen["first_seq"])
        return _Run(items, seen["seconds"], len(sizes), sizes, list(update_ms),
                    seen["updates"], seen["events"], list(frame_ms))
    finally:
        context.close()
        with contextlib.suppress(Exception):  # the server may be gone already
            lab.shutdown_kernels()


def _missing() -> str | None:
    chromium = _lab().chromium_path()
    if not chromium.is_file():
        return f"no Chromium at {chromium}; set FLOWNB_CHROMIUM"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed"
    if importlib.util.find_spec("jupyterlab") is None:
        return "JupyterLab is not installed"
    return None


def rows(quick: bool) -> list[Row]:
    items = 10_000 if quick else 100_000
    runs = 1 if quick else 3
    update = f"browser: {items:,}-item foreach, front-end time per update"
    rate = "browser: messages/s and bytes/message"
    goal = f"<= {UPDATE_GOAL_MS:g} ms"
    why = _missing()
    if why is None:
        # In a thread of its own: Playwright's sync API leaves its event loop registered on
        # the thread it ran in, and the other sections call asyncio.run.
        try:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                measured = pool.submit(_measure, items, runs).result()
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    if why is not None:
        return [Row(update, "ms", [], note=f"n/a ({why})"),
                Row(rate, "msg/s", [], note=f"n/a ({why})")]
    update_ms = [ms for r in measured for ms in r.update_ms]
    sizes = [b for r in measured for b in r.bytes]
    frames = [ms for r in measured for ms in r.frame_ms]
    seconds = statistics.median(r.seconds for r in measured)
    ms_note = (f"{len(update_ms)} updates over {len(measured)} run(s) of "
               f"{seconds:.1f} s; max {max(update_ms, default=0):.1f} ms")
    if frames:
        ms_note += (f"; {len(frames)} animation frames over 50 ms, longest "
                    f"{max(frames):.0f} ms")
    else:
        ms_note += "; no animation frame over 50 ms"
    per_run = [r.messages / r.seconds for r in measured if r.seconds > 0]
    rate_note = (f"{statistics.median(sizes) if sizes else 0:,.0f} bytes/message median "
                 f"(max {max(sizes, default=0):,}), "
                 f"{sum(r.messages for r in measured)} messages, "
                 f"{sum(r.kernel_updates for r in measured)} updates the kernel counted, "
                 f"{sum(r.events for r in measured):,} events")
    return [Row(update, "ms", update_ms, goal=goal, note=ms_note, show_ratio=False),
            Row(rate, "msg/s", per_run, goal="<= 10 msg/s", note=rate_note, digits=1,
                show_ratio=False)]
