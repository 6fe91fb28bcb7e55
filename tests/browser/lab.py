"""A real JupyterLab driven by a real Chromium, for the browser tests.

The conftest next to this module turns it into fixtures (``lab_server``, ``browser``,
``page``, ``open_notebook``, ``expect``); the functions here work with any Playwright page::

    from lab import screenshot

    def test_shout(open_notebook, expect):
        nb = open_notebook("graph.ipynb")   # copied into the server root, kernel idle
        nb.run_all()                        # fails with the traceback of any error output
        expect(nb.output(3)).to_contain_text("status=success")
        screenshot(nb.output(3), "shout-result")   # test-artifacts/browser/shout-result.png

Outputs are only trustworthy once produced by running the cells: saved outputs of a
notebook are untrusted, and JupyterLab shows an untrusted SVG as a warning text.

Playwright is imported only for type checking: importing this module needs neither
Playwright nor a browser, so a machine without them can still collect (and skip) the tests.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, unquote_to_bytes

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page, Playwright

__all__ = [
    "ARTIFACTS",
    "CHROMIUM_ARGS",
    "NOTEBOOKS",
    "LabServer",
    "Notebook",
    "NotebookError",
    "chromium_path",
    "in_ci",
    "launch_chromium",
    "open_notebook",
    "screenshot",
    "set_theme",
    "show_svg",
    "start_lab",
    "write_notebook",
]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
NOTEBOOKS = Path(__file__).resolve().with_name("notebooks")
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

# Front-end settings of the test server (file name → JSON), written to its own
# user-settings directory: no news or update checks, every cell attached to the DOM (the
# default windowing detaches or hides off-screen cells), and no autosave rewriting the
# notebook copies while a test reads them.
_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}
# Page config of the test server: no build check (a server-side scan of the app directory
# that takes seconds on every page load), and no plugins that only fetch things the tests
# never look at (export formats, an nbconvert scan of seconds; installed extensions; news).
_PAGE_CONFIG = {
    "buildCheck": False,
    "buildAvailable": False,
    "disabledExtensions": {
        "@jupyterlab/notebook-extension:export": True,
        "@jupyterlab/notebook-extension:update-raw-mimetype": True,
        "@jupyterlab/extensionmanager-extension:plugin": True,
        "@jupyterlab/apputils-extension:announcements": True,
    },
}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_names = itertools.count(1)


class NotebookError(AssertionError):
    """A notebook did not open, or did not run cleanly (error output, stderr, a cell left)."""


def in_ci() -> bool:
    """Whether ``CI=true``: then a missing browser fails the tests instead of skipping them."""
    return os.environ.get("CI", "").strip().lower() == "true"


def chromium_path() -> Path:
    """The Chromium to drive: ``$FLOWNB_CHROMIUM``, else Debian's ``/usr/bin/chromium``."""
    return Path(os.environ.get("FLOWNB_CHROMIUM") or DEFAULT_CHROMIUM)


def launch_chromium(playwright: Playwright, executable: Path) -> Browser:
    """A headless Chromium from ``executable`` (never a Playwright-downloaded one)."""
    return playwright.chromium.launch(executable_path=str(executable), headless=True,
                                      args=list(CHROMIUM_ARGS))


def set_theme(page: Page, theme: str) -> None:
    """Switch JupyterLab to its ``"light"`` or ``"dark"`` theme and wait until it applies
    (the ``page`` fixture switches back to light after each test)."""
    name = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}[theme]
    page.evaluate("(theme) => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme})", name)
    page.wait_for_function("(light) => document.body.dataset.jpThemeLight === light",
                           arg="true" if theme == "light" else "false")
    page.wait_for_timeout(300)  # the theme's style sheet applies


def screenshot(locator: Locator, name: str) -> Path:
    """Save a PNG of one element as ``test-artifacts/browser/<name>.png``; return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png")
    locator.screenshot(path=path, animations="disabled")
    return path


def write_notebook(path: Path, cells: list[str]) -> Path:
    """Write a notebook of code ``cells`` (their sources, not run) for the ``python3``
    kernel at ``path``; return ``path``."""
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}",
                   "metadata": {}, "outputs": [], "source": source}
                  for i, source in enumerate(cells)],
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}}}), encoding="utf-8")
    return path


def show_svg(page: Page, svg: str) -> Page:
    """Open ``svg`` as a document of its own, in a new page of ``page``'s context.

    JupyterLab shows ``image/svg+xml`` as an ``<img>``, whose elements no locator reaches
    and whose scripts never run. As a document, locators reach every element, and a
    ``<script>`` smuggled into the markup would run (and open any ``alert`` it calls). A
    document that is not well-formed XML raises ``NotebookError`` with the parser's message.
    """
    url = "http://svg.flownb.test/shown.svg"
    shown = page.context.new_page()
    shown.route(url, lambda route: route.fulfill(
        status=200, body=svg.encode("utf-8"), content_type="image/svg+xml; charset=utf-8"))
    shown.goto(url)
    problem = shown.evaluate("""() => {
        const root = document.documentElement;
        const err = document.querySelector('parsererror');
        if (err) return err.textContent;
        return root.localName === 'svg' ? null : `the document is <${root.localName}>`;
    }""")
    if problem:
        raise NotebookError(f"the SVG is not a well-formed SVG document: {problem}")
    return shown


# ------------------------------------------------------------------------- the server


@dataclass
class LabServer:
    """A JupyterLab server of the test session, rooted in a temporary directory."""

    url: str  # "http://127.0.0.1:<port>/"
    token: str
    root: Path  # the server's root_dir: notebooks are copied here
    storage: Path  # FLOWNB_STORAGE of the server and its kernels
    log_path: Path
    process: subprocess.Popen[bytes]
    started_at: float  # time.perf_counter() at the spawn
    _log: IO[bytes]
    ready_in: float | None = None  # seconds from the spawn to /api/status answering

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until ``/api/status`` answers; stop the server and raise if it never does."""
        while self.ready_in is None:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"JupyterLab exited with status {self.process.returncode} "
                                   f"before answering; log {self.log_path}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.perf_counter() - self.started_at > timeout:
                    self.stop()
                    raise RuntimeError(f"JupyterLab did not answer within {timeout:g} s; "
                                       f"log {self.log_path}:\n{self.log_tail()}") from None
                time.sleep(0.05)
            else:
                self.ready_in = time.perf_counter() - self.started_at

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the server's REST API (``path`` like ``/api/sessions``); the decoded JSON."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path.lstrip("/"), data=data, method=method,
            headers={"Authorization": f"token {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None

    def lab_url(self, path: str, *, workspace: str | None = None) -> str:
        """The URL that opens ``path`` (relative to the root) in JupyterLab.

        A new ``workspace`` name gives a page with no layout restored from earlier pages.
        """
        where = f"lab/workspaces/{quote(workspace, safe='')}" if workspace else "lab"
        return f"{self.url}{where}/tree/{quote(path)}?token={self.token}"

    def start_session(self, path: str, kernel: str) -> None:
        """Start a ``kernel`` session for the notebook at ``path`` (JupyterLab joins it)."""
        self.api("POST", "/api/sessions", {"path": path, "type": "notebook",
                                           "name": Path(path).name, "kernel": {"name": kernel}})

    def shutdown_kernels(self) -> None:
        """End every session and kernel (each test starts from none)."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for error messages."""
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (the server shuts its kernels down), then SIGKILL for the whole group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if not self._log.closed:
            self._log.close()


def start_lab(base: Path, *, log_path: Path) -> LabServer:
    """Start ``python -m jupyter lab`` with everything it writes under ``base``.

    Returns at once; call :meth:`LabServer.wait_ready` before using it (a caller can start
    the browser meanwhile). Config, data, runtime, IPython, user-settings and workspace
    directories are fresh, so nothing from the user's own Jupyter leaks in; kernelspecs and
    lab extensions are still found under ``sys.prefix/share/jupyter`` (the venv). The
    kernel is the venv's Python, with the repository first on ``PYTHONPATH`` and
    ``FLOWNB_STORAGE`` in ``base``.
    """
    dirs = {name: base / name for name in
            ("root", "config", "data", "runtime", "ipython", "settings", "workspaces")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    (dirs["config"] / "labconfig").mkdir()
    (dirs["config"] / "labconfig" / "page_config.json").write_text(
        json.dumps(_PAGE_CONFIG), encoding="utf-8")
    for name, settings in _USER_SETTINGS.items():
        target = dirs["settings"] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(settings), encoding="utf-8")

    token = secrets.token_hex(16)
    port = _free_port()
    storage = base / "flownb-runs.db"
    env = dict(os.environ)
    env.update({
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "IPYTHONDIR": str(dirs["ipython"]),
        "FLOWNB_STORAGE": str(storage),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("JUPYTER_TOKEN", None)
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={dirs['root']}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={dirs['settings']}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")

    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    log.write(("$ " + " ".join(command) + "\n").encode())
    log.flush()
    process = subprocess.Popen(command, cwd=dirs["root"], env=env, stdin=subprocess.DEVNULL,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return LabServer(url=f"http://127.0.0.1:{port}/", token=token, root=dirs["root"],
                     storage=storage, log_path=log_path, process=process,
                     started_at=time.perf_counter(), _log=log)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------- notebooks

# Defines findPanel(path): the NotebookPanel of `path` in the main area, or null.
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

# The toolbar's kernel indicator says "Idle" before a kernel exists, so readiness is read
# from the session context: a kernel, connected, idle.
_READY = _FIND_PANEL + """
return (path) => {
  const panel = findPanel(path);
  if (!panel || !panel.context.isReady || !panel.sessionContext.isReady) return false;
  const kernel = panel.sessionContext.session?.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'
    && panel.content.widgets.length === panel.model.cells.length;
};
"""

_IDLE = _FIND_PANEL + """
return (path) => {
  const kernel = findPanel(path)?.sessionContext.session?.kernel;
  return !!kernel && kernel.status === 'idle';
};
"""

# What the page shows when a wait runs out: for the error message.
_DIAGNOSE = _FIND_PANEL + """
return (path) => {
  const app = window.jupyterapp;
  const dialogs = [...document.querySelectorAll('.jp-Dialog')].map(d => d.innerText.trim());
  if (!app) return {app: false, dialogs, url: location.href};
  const panel = findPanel(path);
  const open = [...app.shell.widgets('main')].map(w => w.context?.path ?? w.id);
  if (!panel) return {app: true, panel: false, open, dialogs};
  const session = panel.sessionContext.session;
  return {app: true, panel: true, contextReady: panel.context.isReady,
          sessionReady: panel.sessionContext.isReady, session: !!session,
          kernel: session?.kernel?.name ?? null, status: session?.kernel?.status ?? null,
          connection: session?.kernel?.connectionStatus ?? null, dialogs};
};
"""

_RUN_ALL = _FIND_PANEL + """
return async ([path, ms]) => {
  const app = window.jupyterapp;
  const panel = findPanel(path);
  if (!panel) return 'no-panel';
  app.shell.activateById(panel.id);
  let timer;
  const limit = new Promise(resolve => { timer = setTimeout(() => resolve('timeout'), ms); });
  try {
    const done = app.commands.execute('notebook:run-all-cells', {widgetId: panel.id});
    return await Promise.race([done, limit]);
  } finally {
    clearTimeout(timer);
  }
};
"""

_CELLS = _FIND_PANEL + """
return (path) => findPanel(path).content.widgets.map((cell, index) => {
  const code = cell.model.type === 'code';
  return {index, type: cell.model.type, source: cell.model.sharedModel.getSource(),
          execution_count: code ? cell.model.executionCount : null,
          outputs: code ? cell.model.outputs.toJSON() : []};
});
"""

_RENDERED = _FIND_PANEL + """
return (path) => findPanel(path).content.widgets.every(cell =>
  cell.model.type !== 'code'
  || cell.outputArea.node.querySelectorAll(':scope > .jp-OutputArea-child').length
     === cell.model.outputs.length);
"""

_SVG = "img[src^='data:image/svg+xml'], svg"

_PANEL_ID = _FIND_PANEL + "return (path) => findPanel(path)?.id ?? null;"


def _js(body: str) -> str:
    """A function expression for ``page.evaluate`` from a body that returns a function."""
    return f"(() => {{ {body} }})()"


@dataclass
class Notebook:
    """A notebook open in a JupyterLab page, with a kernel: run it, read and see its cells.

    Cell indices count every cell (markdown too), in notebook order. Locators are scoped to
    this notebook's panel, so several notebooks can be open in one page.
    """

    page: Page
    server: LabServer
    path: str  # relative to the server root
    panel_id: str

    def run_all(self, *, timeout: float = 60.0, allow_stderr: bool = False) -> list[dict[str, Any]]:
        """Run every cell and wait for the kernel to be idle again; the cells' final state.

        The notebook's tab comes to the front first. Raises ``NotebookError`` listing
        every error output (with its traceback), every stderr stream (unless
        ``allow_stderr``) and every code cell that did not run. Each returned cell is
        ``{index, type, source, execution_count, outputs}`` with
        ``outputs`` in nbformat JSON.
        """
        outcome = self.page.evaluate(_js(_RUN_ALL), [self.path, int(timeout * 1000)])
        if outcome in ("timeout", "no-panel"):
            state = self.page.evaluate(_js(_DIAGNOSE), self.path)
            reason = f"did not finish within {timeout:g} s" if outcome == "timeout" else \
                "is no longer open"
            raise NotebookError(f"run all cells of {self.path} {reason}; page state {state}")
        self._wait(_IDLE, timeout, "the kernel to be idle after running all cells")
        self._wait(_RENDERED, timeout, "every output to be attached to the page")
        cells: list[dict[str, Any]] = self.page.evaluate(_js(_CELLS), self.path)
        problems = _problems(cells, allow_stderr=allow_stderr)
        if outcome is not True and not problems:
            problems = [f"JupyterLab's run-all command returned {outcome!r}, and no cell "
                        f"shows why; page state {self.page.evaluate(_js(_DIAGNOSE), self.path)}"]
        if problems:
            raise NotebookError(f"{self.path} did not run cleanly:\n\n" + "\n\n".join(problems))
        return cells

    def activate(self) -> None:
        """Bring the notebook's tab to the front (another tab's content is hidden, so
        visibility checks and screenshots need this when a page holds several notebooks)."""
        self.page.evaluate("(id) => window.jupyterapp.shell.activateById(id)", self.panel_id)

    def cells(self) -> list[dict[str, Any]]:
        """Every cell as ``{index, type, source, execution_count, outputs}`` (from the model)."""
        result: list[dict[str, Any]] = self.page.evaluate(_js(_CELLS), self.path)
        return result

    @property
    def panel(self) -> Locator:
        """The notebook's panel (toolbar and cells)."""
        return self.page.locator(f'[id="{self.panel_id}"]')

    def cell(self, index: int) -> Locator:
        """Cell ``index`` (input and output)."""
        return self.panel.locator(".jp-Notebook .jp-Cell").nth(index)

    def output(self, index: int) -> Locator:
        """The output area of cell ``index`` (all its outputs; not those nested in widgets)."""
        return self.cell(index).locator(".jp-Cell-outputArea")

    def output_text(self, index: int) -> str:
        """The visible text of cell ``index``'s outputs, as a person would read it."""
        return self.output(index).inner_text()

    def svg(self, index: int, selector: str = _SVG) -> str:
        """The SVG markup of the first ``selector`` match in cell ``index``'s outputs.

        JupyterLab shows an ``image/svg+xml`` output as an ``<img>`` with a data URL, so
        its elements are not in the page's DOM: this decodes it. An inline ``<svg>`` (from
        HTML or a widget) is serialized. Widgets hold icon SVGs too: pass a narrower
        ``selector`` for them. See :func:`show_svg` to inspect the drawing.
        """
        found = self.output(index).locator(selector).first
        found.wait_for(state="attached")
        src = found.get_attribute("src")
        if src is None:
            return str(found.evaluate("node => new XMLSerializer().serializeToString(node)"))
        header, _, data = src.partition(",")
        if header.endswith(";base64"):
            return base64.b64decode(data).decode("utf-8")
        return unquote_to_bytes(data).decode("utf-8")

    def wait_idle(self, *, timeout: float = 30.0) -> None:
        """Wait until the notebook's kernel is idle."""
        self._wait(_IDLE, timeout, "the kernel to be idle")

    def _wait(self, script: str, timeout: float, what: str) -> None:
        _wait_for(self.page, script, self.path, timeout, what)


def open_notebook(page: Page, server: LabServer, name: str | Path, *,
                  folder: str | None = None, timeout: float = 60.0) -> Notebook:
    """Copy a notebook into the server root, open it in ``page``, wait for its kernel.

    ``name`` is a file of ``tests/browser/notebooks/``, or an absolute path to any notebook.

    The copy goes to a new folder of the root (``folder``, else a fresh one), so tests never
    share a file. A page that does not show this server's JupyterLab yet loads it in a new
    workspace (no earlier layout restored); one that does opens the notebook in another
    tab, in about a second (e.g. to resume in a second notebook a run that a first one
    suspended). The kernel of the notebook's ``kernelspec`` is started before the page
    loads (JupyterLab joins the session), so the two overlap. Returns once the notebook is
    shown and its kernel is connected and idle.
    """
    source = Path(name) if Path(name).is_absolute() else NOTEBOOKS / name
    if not source.is_file():
        raise FileNotFoundError(f"no test notebook {source}")
    folder = folder or f"nb-{next(_names)}"
    target = server.root / folder / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    path = target.relative_to(server.root).as_posix()
    kernel = json.loads(source.read_text(encoding="utf-8")).get("metadata", {}) \
        .get("kernelspec", {}).get("name")
    if kernel:
        server.start_session(path, kernel)
    if page.url.startswith(server.url + "lab") and page.evaluate("() => !!window.jupyterapp"):
        page.evaluate("(path) => window.jupyterapp.commands.execute("
                      "'docmanager:open', {path, factory: 'Notebook'}).then(() => null)", path)
    else:
        page.goto(server.lab_url(path, workspace=f"{folder}-{secrets.token_hex(3)}"))
    _wait_for(page, _READY, path, timeout, f"{path} to open with an idle kernel")
    return Notebook(page=page, server=server, path=path,
                    panel_id=page.evaluate(_js(_PANEL_ID), path))


def _wait_for(page: Page, script: str, path: str, timeout: float, what: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(_js(script), arg=path, timeout=timeout * 1000, polling=50)
    except PlaywrightTimeout:
        state = page.evaluate(_js(_DIAGNOSE), path)
        raise NotebookError(f"gave up after {timeout:g} s waiting for {what}; "
                            f"page state {state}") from None


def _problems(cells: list[dict[str, Any]], *, allow_stderr: bool) -> list[str]:
    """What went wrong in a run: error outputs, stderr, code cells that did not run."""
    problems = []
    for cell in cells:
        if cell["type"] != "code":
            continue
        where = f"cell {cell['index']}"
        for out in cell["outputs"]:
            if out.get("output_type") == "error":
                trace = _ANSI.sub("", "\n".join(out.get("traceback") or []))
                problems.append(f"{where} raised {out.get('ename')}: {out.get('evalue')}\n"
                                f"{trace}")
            elif out.get("name") == "stderr" and not allow_stderr:
                text = out.get("text")
                text = "".join(text) if isinstance(text, list) else str(text)
                problems.append(f"{where} wrote to stderr:\n{_ANSI.sub('', text)}")
        if cell["execution_count"] is None and cell["source"].strip():
            first = cell["source"].strip().splitlines()[0]
            problems.append(f"{where} did not run: {first}")
    return problems
