"""``flownb playground MODULE[:NAME]``: a notebook showing the module's workflows, opened in
JupyterLab.

The notebook goes to ``.flownb/playground-<module>.ipynb`` under the current directory and
works in that directory, so the module imports and runs are stored as from the terminal.
The server gets a port and a token chosen here (unless given), so the URL that opens the
notebook itself (``/lab/tree/PATH?token=…``, not the Launcher) is known and printed before
JupyterLab starts, with what to do: JupyterLab runs no cell by itself, so the notebook's
first cell and the terminal both say to run its cell.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import sys
import urllib.parse
from pathlib import Path

__all__ = ["lab_command", "lab_url", "playground_arguments", "write_playground"]

_TOKEN_OPTIONS = ("--IdentityProvider.token=", "--ServerApp.token=", "--NotebookApp.token=")
HOW_TO = "run its cell (Shift+Enter, or Run ▸ Run All Cells)"


def playground_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="MODULE[:NAME]",
                   help="a dotted module or a .py file; NAME a Registry or a workflow in it "
                        "(left out: every workflow and registry the module defines)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--port", type=int, metavar="N", help="the port JupyterLab listens on")
    p.add_argument("--dir", default=".flownb", metavar="DIR",
                   help="where the playground notebook is written (default: .flownb)")
    # Anything after "--" goes to `jupyter lab` as it is (split off by cli.main).


def write_playground(target: str, folder: str | Path, storage: str | None = None) -> Path:
    """Check that ``target`` names workflows, then write its playground notebook."""
    from ..discovery import TargetError, import_module, split_spec, workflows_in
    from ..notebook.playground import playground_notebook

    module_ref, attr = split_spec(target)
    module, _ = import_module(module_ref)
    if not workflows_in(vars(module), attr, module=module_ref):
        raise TargetError(f"module '{module_ref}' defines no committed workflow or Registry",
                          target=target)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(module_ref).stem if module_ref.endswith(".py")
                  else module_ref).strip("-") or "workflows"
    name = f"playground-{stem}{'-' + attr if attr else ''}.ipynb"
    path = playground_notebook(Path(folder) / name, module_ref, attr, root=Path.cwd())
    if storage:  # `flownb --storage X playground …`: the notebook uses the same store
        _use_storage(path, str(Path(storage).resolve()))
    return path


def lab_command(notebook: Path, *, no_browser: bool, port: int | None,
                extra: list[str]) -> list[str]:
    """The ``jupyter lab`` command line that opens ``notebook`` (rooted at the cwd)."""
    root = Path.cwd().resolve()
    relative = notebook.resolve().relative_to(root) if notebook.resolve().is_relative_to(root) \
        else notebook.resolve()
    command = [sys.executable, "-m", "jupyter", "lab", str(relative),
               f"--ServerApp.root_dir={root}",
               # the notebook lives in .flownb/, which Jupyter hides unless told otherwise
               "--ContentsManager.allow_hidden=True"]
    if no_browser:
        command.append("--no-browser")
    # A known port and token make the URL of the notebook known before the server starts.
    command += [f"--port={port if port is not None else _free_port()}",
                "--ServerApp.port_retries=0"]
    if not any(word.startswith(_TOKEN_OPTIONS) for word in extra):
        command.append(f"--IdentityProvider.token={secrets.token_hex(24)}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command + list(extra)


def lab_url(command: list[str]) -> str:
    """The URL that opens the playground notebook of ``command`` (:func:`lab_command`) in
    JupyterLab: ``http://localhost:PORT/lab/tree/PATH?token=TOKEN``."""
    notebook, port, token, ip = command[4], "8888", "", "localhost"
    for word in command[5:]:
        if word.startswith("--port="):
            port = word.split("=", 1)[1]
        elif word.startswith(_TOKEN_OPTIONS):
            token = word.split("=", 1)[1]
        elif word.startswith(("--ServerApp.ip=", "--ip=")) and word.split("=", 1)[1] not in (
                "", "0.0.0.0", "*"):
            ip = word.split("=", 1)[1]
    url = f"http://{ip}:{port}/lab/tree/{urllib.parse.quote(Path(notebook).as_posix())}"
    return url + (f"?token={urllib.parse.quote(token)}" if token else "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def exec_lab(command: list[str]) -> None:
    """Print the notebook's URL and what to do, then hand the process over to JupyterLab:
    Ctrl-C and signals reach it directly, and its exit status is the command's."""
    print(f"open {lab_url(command)}\nthen {HOW_TO}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)


def _use_storage(path: Path, storage: str) -> None:
    import json

    notebook = json.loads(path.read_text(encoding="utf-8"))
    cell = notebook["cells"][1]
    cell["source"] = [f"import flownb; flownb.configure(storage={json.dumps(storage)})\n",
                      *cell["source"]]
    path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
