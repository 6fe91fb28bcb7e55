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

from flownb.terminal.playground import lab_url


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
    # the URL opens the notebook itself (not the Launcher), with the token
    assert lab_url(command) == ("http://localhost:8899/lab/tree/.flownb/"
                                "playground-flows-reg.ipynb?token=abc")
    assert "--ServerApp.port_retries=0" in command


def test_the_url_has_a_token_and_port_chosen_here_and_says_to_run_the_cell(
        write_module, cli, launched, tmp_path, capsys):
    write_module("flows", "greet")
    assert cli("playground", "flows", "--no-browser").code == 0
    (command,) = launched
    port = next(w for w in command if w.startswith("--port=")).split("=")[1]
    token = next(w for w in command if w.startswith("--IdentityProvider.token=")).split("=")[1]
    assert int(port) > 0 and len(token) == 48
    assert lab_url(command) == (f"http://localhost:{port}/lab/tree/.flownb/playground-flows"
                                f".ipynb?token={token}")
    first = json.loads((tmp_path / ".flownb" / "playground-flows.ipynb").read_text())["cells"][0]
    assert "**Run the cell below** (Shift+Enter" in "".join(first["source"])


def test_the_storage_option_reaches_the_notebook(write_module, cli, launched, tmp_path):
    write_module("flows", "greet")
    assert cli("--storage", "runs.db", "playground", "flows").code == 0
    code = "".join(json.loads((tmp_path / ".flownb" / "playground-flows.ipynb")
                              .read_text())["cells"][1]["source"])
    assert f"flownb.configure(storage={json.dumps(str(tmp_path / 'runs.db'))})" in code


def test_exec_lab_prints_the_url_and_what_to_do_first(monkeypatch, capsys):
    from flownb.terminal import playground

    execs = []
    monkeypatch.setattr(os, "execv", lambda *args: execs.append(args))
    command = playground.lab_command(Path("nb.ipynb"), no_browser=True, port=9999,
                                     extra=["--IdentityProvider.token=t0k"])
    playground.exec_lab(command)
    assert execs == [(command[0], command)]
    assert capsys.readouterr().err == ("open http://localhost:9999/lab/tree/nb.ipynb?token=t0k\n"
                                       "then run its cell (Shift+Enter, or Run ▸ Run All "
                                       "Cells)\n")


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
        printed = (tmp_path / "lab.log").read_text()
        assert f"open {base}/lab/tree/.flownb/" in printed
        with urllib.request.urlopen(f"{base}/lab/tree/.flownb/playground-flows.ipynb"
                                    "?token=secret", timeout=10) as r:
            assert r.status == 200  # the notebook's own page, hidden folder and all
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
