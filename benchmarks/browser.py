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
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import Row

__all__ = ["rows"]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("FLOWNB_CHROMIUM") or "/usr/bin/chromium")
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run")
UPDATE_GOAL_MS = 16.0

# No news, update checks, autosave or build check: nothing else running in the page or the
# server while the run streams.
_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}
_PAGE_CONFIG = {
    "buildCheck": False,
    "buildAvailable": False,
    "disabledExtensions": {
        "@jupyterlab/notebook-extension:export": True,
        "@jupyterlab/extensionmanager-extension:plugin": True,
        "@jupyterlab/apputils-extension:announcements": True,
    },
}

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

_FIND_PANEL = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.sessionContext && w.content) return w;
  }
  return null;
};
"""
_READY = _FIND_PANEL + """
return (path) => {
  const panel = findPanel(path);
  if (!panel || !panel.context.isReady || !panel.sessionContext.isReady) return false;
  const kernel = panel.sessionContext.session?.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'
    && panel.content.widgets.length === panel.model.cells.length;
};
"""
# Runs cell `index` and resolves once it ran (NotebookActions.run waits for the reply), or
# with 'timeout' after `ms`.
_RUN_CELL = _FIND_PANEL + """
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
_OUTPUTS = _FIND_PANEL + """
return ([path, index]) => findPanel(path).content.widgets[index].model.outputs.toJSON();
"""


def _js(body: str) -> str:
    return f"(() => {{ {body} }})()"


def _notebook(items: int) -> dict[str, Any]:
    def cell(source: str) -> dict[str, Any]:
        return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                "source": source}

    return {"cells": [cell(_SETUP), cell(_VIEW), cell(_RUN.format(items=items))],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


# ------------------------------------------------------------------------- the server


@dataclass
class _Lab:
    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path.lstrip("/"), data=data, method=method,
            headers={"Authorization": f"token {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None

    def wait_ready(self, timeout: float) -> None:
        limit = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with status {self.process.returncode}"
                                   f" (log {self.log})")
            try:
                self.api("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > limit:
                    raise RuntimeError(f"JupyterLab did not answer within {timeout:g} s "
                                       f"(log {self.log})") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_lab(base: Path) -> _Lab:
    """``python -m jupyter lab`` on loopback with everything under ``base``; kernels are this
    venv's Python (the ``python3`` spec), with the repository first on ``PYTHONPATH``."""
    dirs = {name: base / name for name in
            ("root", "config", "data", "runtime", "ipython", "settings", "workspaces")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    (dirs["config"] / "labconfig").mkdir()
    (dirs["config"] / "labconfig" / "page_config.json").write_text(json.dumps(_PAGE_CONFIG))
    for name, settings in _USER_SETTINGS.items():
        target = dirs["settings"] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(settings))
    token, port = secrets.token_hex(16), _free_port()
    env = dict(os.environ)
    env.pop("JUPYTER_TOKEN", None)
    env.update({
        "JUPYTER_CONFIG_DIR": str(dirs["config"]), "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]), "IPYTHONDIR": str(dirs["ipython"]),
        "FLOWNB_STORAGE": str(base / "flownb-runs.db"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    })
    command = [sys.executable, "-m", "jupyter", "lab", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
               f"--ServerApp.root_dir={dirs['root']}", "--ServerApp.terminals_enabled=False",
               "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True",
               f"--LabApp.user_settings_dir={dirs['settings']}",
               f"--LabApp.workspaces_dir={dirs['workspaces']}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = base / "jupyter-server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=dirs["root"], env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return _Lab(f"http://127.0.0.1:{port}/", token, dirs["root"], process, log)


# ------------------------------------------------------------------------- the frames


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

    base = Path(tempfile.mkdtemp(prefix="flownb-bench-browser-"))
    lab = _start_lab(base)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 headless=True, args=list(CHROMIUM_ARGS))
            try:
                lab.wait_ready(60)
                return [_one_run(browser, lab, items, k) for k in range(runs)]
            finally:
                browser.close()
    finally:
        try:
            for session in lab.api("GET", "/api/sessions"):
                lab.api("DELETE", f"/api/sessions/{session['id']}")
        except Exception:  # the server may be gone already
            pass
        lab.stop()
        shutil.rmtree(base, ignore_errors=True)


def _one_run(browser: Any, lab: _Lab, items: int, k: int) -> _Run:
    """One page, one notebook, one kernel, one run of the foreach."""
    path = f"bench-{k}.ipynb"
    (lab.root / path).write_text(json.dumps(_notebook(items)))
    lab.api("POST", "/api/sessions", {"path": path, "type": "notebook", "name": path,
                                      "kernel": {"name": "python3"}})
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        frames = _Frames()
        page.on("websocket", frames.on_websocket)
        page.goto(f"{lab.url}lab/workspaces/bench-{k}-{secrets.token_hex(3)}/tree/{path}"
                  f"?token={lab.token}")
        page.wait_for_function(_js(_READY), arg=path, timeout=60_000, polling=50)
        for cell in (0, 1):
            if page.evaluate(_js(_RUN_CELL), [path, cell, 60_000]) is not True:
                raise RuntimeError(f"cell {cell} of the notebook did not run: "
                                   f"{page.evaluate(_js(_OUTPUTS), [path, cell])!r}"[:300])
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
        ok = page.evaluate(_js(_RUN_CELL), [path, 2, 300_000]) is True
        # The last update reaches the page after the reply: wait for the view to say so.
        page.wait_for_selector('.flownb-run-view[data-status="success"]', timeout=60_000)
        page.wait_for_timeout(300)
        outputs = page.evaluate(_js(_OUTPUTS), [path, 2])
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
        try:
            for session in lab.api("GET", "/api/sessions"):
                lab.api("DELETE", f"/api/sessions/{session['id']}")
        except Exception:
            pass


def _missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM}; set FLOWNB_CHROMIUM"
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
