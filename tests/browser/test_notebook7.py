"""Smoke test: the live view renders in Jupyter Notebook 7 too (SPEC §6b), not only in
JupyterLab. One ``jupyter notebook`` server for this module, set up as the harness sets up
JupyterLab (fresh config, data and runtime directories; the venv's kernel; a token), runs a
notebook that shows ``RunView`` of a finished run; the graph and the step table appear."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import lab
import pytest
from lab import ARTIFACTS, REPO, LabServer, Notebook, screenshot

SOURCE = '''\
from typing import Any
from flownb import create_step, create_workflow
from flownb.notebook import RunView

step = lambda i: create_step(id=i, input_schema=Any, output_schema=Any,
                             execute=lambda input_data: input_data)
wf = (create_workflow(id="nb7", storage=False).then(step("fetch"))
      .parallel([step("left"), step("right")]).then(step("save")).commit())
run = wf.create_run()
result = await run.start({"n": 1})
print(f"status={result.status}")
RunView(run)
'''


def _start_notebook(base: Path, log_path: Path) -> LabServer:
    """``python -m jupyter notebook`` with everything it writes under ``base`` (as
    ``lab.start_lab`` does for JupyterLab), ``window.jupyterapp`` exposed for the helpers."""
    dirs = {name: base / name for name in ("root", "config", "data", "runtime", "ipython")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    token, port = secrets.token_hex(16), lab._free_port()
    env = dict(os.environ)
    env.update({
        "JUPYTER_CONFIG_DIR": str(dirs["config"]), "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]), "IPYTHONDIR": str(dirs["ipython"]),
        "FLOWNB_STORAGE": str(base / "flownb-runs.db"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("JUPYTER_TOKEN", None)
    command = [sys.executable, "-m", "jupyter", "notebook", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
               f"--ServerApp.root_dir={dirs['root']}", "--ServerApp.terminals_enabled=False",
               "--JupyterNotebookApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    process = subprocess.Popen(command, cwd=dirs["root"], env=env, stdin=subprocess.DEVNULL,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return LabServer(url=f"http://127.0.0.1:{port}/", token=token, root=dirs["root"],
                     storage=base / "flownb-runs.db", log_path=log_path, process=process,
                     started_at=time.perf_counter(), _log=log)


@pytest.fixture(scope="module")
def notebook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    pytest.importorskip("notebook", reason="Jupyter Notebook 7 is not installed "
                                           "(pip install -e '.[test]')")
    server = _start_notebook(tmp_path_factory.mktemp("notebook7"),
                             ARTIFACTS / "notebook7-server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


_PANEL = """(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    const kernel = w.sessionContext?.session?.kernel;
    if (w.context?.path === path && w.context.isReady && kernel?.status === 'idle'
        && kernel.connectionStatus === 'connected') return w.id;
  }
  return null;
}"""


def test_the_live_view_renders_in_notebook_7(browser, notebook_server, expect):
    server = notebook_server
    lab.write_notebook(server.root / "nb7.ipynb", [SOURCE])
    server.start_session("nb7.ipynb", "python3")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{server.url}notebooks/{quote('nb7.ipynb')}?token={server.token}")
        panel_id = page.wait_for_function(_PANEL, arg="nb7.ipynb", polling=100,
                                          timeout=60_000).json_value()
        nb = Notebook(page=page, server=server, path="nb7.ipynb", panel_id=panel_id)
        nb.run_all()
        expect(nb.output(0)).to_contain_text("status=success")
        view = nb.output(0).locator(".flownb-run-view")
        expect(view).to_be_visible()
        for step in ("fetch", "left", "right", "save"):
            expect(view.locator(f'.flownb-graph svg g[id="step:{step}"]')).to_have_class(
                re.compile(r"\bstatus-success\b"))
        rows = view.locator(".flownb-step-table .flownb-row")
        expect(rows).to_have_count(4)
        screenshot(view, "notebook7-live-view")
    finally:
        context.close()
        server.shutdown_kernels()
