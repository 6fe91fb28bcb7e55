"""``flownb playground``: the notebook it writes, the JupyterLab command, a real server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


@pytest.fixture
def launched(monkeypatch):  # type: ignore[no-untyped-def]
    """Catches the command `flownb playground` would exec."""
    commands: list[list[str]] = []
    monkeypatch.setattr("flownb.terminal.playground.exec_lab", commands.append)
    return commands


def test_writes_the_notebook_and_execs_jupyter_lab(write_module, cli, launched, tmp_path):
    write_module("flows", "review", "greet", "reg = Registry(workflows={'r': review})\n")
    result = cli("playground", "flows:reg", "--no-browser", "--port", "8899", "--",
                 "--ServerApp.token=abc")
    assert result.code == 0, result.err
    notebook = tmp_path / ".flownb" / "playground-flows-reg.ipynb"
    code = "".join(json.loads(notebook.read_text())["cells"][1]["source"])
    assert 'import_module("flows")' in code and '"reg"' in code
    (command,) = launched
    assert command[:5] == [sys.executable, "-m", "jupyter", "lab",
                           ".flownb/playground-flows-reg.ipynb"]
    assert f"--ServerApp.root_dir={tmp_path.resolve()}" in command
    assert "--no-browser" in command and "--port=8899" in command
    assert command[-1] == "--ServerApp.token=abc" and "--" not in command
    assert "wrote .flownb/playground-flows-reg.ipynb" in result.err


def test_the_storage_option_reaches_the_notebook(write_module, cli, launched, tmp_path):
    write_module("flows", "greet")
    assert cli("--storage", "runs.db", "playground", "flows").code == 0
    code = "".join(json.loads((tmp_path / ".flownb" / "playground-flows.ipynb")
                              .read_text())["cells"][1]["source"])
    assert f"flownb.configure(storage={json.dumps(str(tmp_path / 'runs.db'))})" in code


@pytest.mark.parametrize(("target", "message"), [
    ("nowhere", "cannot import module 'nowhere'"),
    ("flows:missing", "module 'flows' has no attribute 'missing' (workflows there: greet)"),
    ("flows:Msg", "'flows:Msg' is a ModelMetaclass, not a flownb Workflow or Registry"),
])
def test_bad_targets_are_one_line(write_module, cli, launched, target, message):
    write_module("flows", "greet")
    result = cli("playground", target)
    assert result.code == 2 and message in result.err
    assert len(result.err.strip().splitlines()) == 1 and launched == []


@pytest.mark.slow
def test_a_real_server_answers_and_stops_cleanly(write_module, tmp_path):
    write_module("flows", "review")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "FLOWNB_STORAGE": str(tmp_path / "r.db")}
    log = open(tmp_path / "lab.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "flownb", "playground", "flows", "--no-browser", "--port",
         str(port), "--", "--IdentityProvider.token=secret", "--ServerApp.ip=127.0.0.1",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token=secret", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, (tmp_path / "lab.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "lab.log").read_text()
                time.sleep(0.3)
        url = f"{base}/api/contents/.flownb/playground-flows.ipynb?token=secret"
        with urllib.request.urlopen(url, timeout=10) as r:
            content = json.load(r)
        assert content["type"] == "notebook" and content["name"] == "playground-flows.ipynb"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert Path(tmp_path / ".flownb" / "playground-flows.ipynb").is_file()
