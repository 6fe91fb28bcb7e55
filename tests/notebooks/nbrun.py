"""Running a course notebook as a reader would: a fresh kernel, every cell, top to bottom.

The kernel is started from a kernelspec written for the test (``add_kernel``), so which
Python runs the notebook is never up to whatever kernelspecs the machine has.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
KERNEL = "flownb-course"
COPY_IGNORE = shutil.ignore_patterns(".flownb", ".ipynb_checkpoints", "__pycache__", "*.db",
                                     "*.db-wal", "*.db-shm")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def course_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def add_kernel(base: Path, python: str | os.PathLike[str], *, name: str = KERNEL) -> Path:
    """Write a kernelspec ``name`` that runs ``python``, under ``base``; returns the folder
    to put first on ``JUPYTER_PATH``. The kernel's ``PATH`` starts with ``python``'s folder,
    as in an activated environment."""
    share = base / "share" / "jupyter"
    spec = share / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    bin_dir = str(Path(python).parent)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({name})",
        "language": "python",
        "env": {"PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])},
    }), encoding="utf-8")
    return share


def use_kernels(monkeypatch: pytest.MonkeyPatch, share: Path) -> None:
    """Make kernelspecs under ``share`` win over any other of the same name."""
    rest = os.environ.get("JUPYTER_PATH")
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(share), rest])))


def copy_notebooks(target: Path) -> Path:
    """A copy of ``notebooks/`` (helper modules included, run data left out)."""
    shutil.copytree(NOTEBOOKS, target, ignore=COPY_IGNORE)
    return target


def run_notebook(path: Path, *, kernel: str = KERNEL, timeout: int = 120) -> float:
    """Execute ``path`` in its own folder on a fresh ``kernel``; returns the seconds it took.

    A failing cell fails the test with that cell's source and error (colour codes removed).
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel, timeout=timeout,
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell failed\n{_ANSI.sub('', str(exc))}", pytrace=False)
    return time.perf_counter() - started
