"""The repository launches on Binder: checked offline, without Docker.

* ``repo2docker --no-build --no-run`` (jupyter-repo2docker, in the ``test`` extra) reads
  ``binder/`` and prints the Dockerfile it would build, with no Docker daemon and no
  network; the test checks the environment it describes.
* What that Dockerfile does to install the project, ``pip install -r binder/requirements.txt``
  from the repository root, is done for real in a fresh venv, and the first notebook runs on
  a kernel of that venv.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbrun import REPO, add_kernel, run_notebook, use_kernels

BINDER = REPO / "binder"
# What Binder's checkout of the repository would not have.
_NOT_IN_A_CHECKOUT = shutil.ignore_patterns(
    ".git", ".venv", "venv", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis",
    ".benchmarks", "__pycache__", ".ipynb_checkpoints", ".flownb", "test-artifacts", "build",
    "dist", "*.egg-info", "*.db", "*.db-wal", "*.db-shm", "node_modules")


def test_binder_folder_holds_what_binder_reads():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.12"
    requirements = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    # with a binder/ folder repo2docker ignores the root pyproject.toml: install it from here
    assert requirements == ["-e .[notebooks]"]  # notebook 06 needs dask
    post_build = BINDER / "postBuild"
    if post_build.exists():
        text = post_build.read_text()
        assert text.startswith("#!") and "set -e" in text
        assert os.access(post_build, os.X_OK)
    for name in ("environment.yml", "Dockerfile", "apt.txt", "Project.toml", "install.R"):
        assert not (BINDER / name).exists(), f"binder/{name} would change the build"


def _repo2docker() -> list[str]:
    if importlib.util.find_spec("repo2docker") is None:
        missing = "jupyter-repo2docker is not installed (pip install -e '.[test]')"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    return [sys.executable, "-m", "repo2docker"]


def test_repo2docker_dry_run_builds_a_python_312_image_that_installs_the_repo():
    command = [*_repo2docker(), "--no-build", "--no-run", "--user-id", "1000",
               "--user-name", "jovyan", str(REPO)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    log, dockerfile = done.stderr, done.stdout

    assert "Using local repo" in log
    assert "python=3.12" in log  # from binder/runtime.txt
    steps = [line for line in dockerfile.splitlines() if line.startswith(("WORKDIR", "COPY",
                                                                           "RUN", "USER"))]
    workdir = steps.index("WORKDIR ${REPO_DIR}")
    copy_repo = steps.index("COPY --chown=1000:1000 src/ ${REPO_DIR}/")
    installs = [i for i, line in enumerate(steps) if "pip install" in line]
    assert len(installs) == 1, installs  # the root pyproject.toml is not installed besides
    install = steps[installs[0]]
    assert re.fullmatch(r'RUN \$\{KERNEL_PYTHON_PREFIX\}/bin/pip install --no-cache-dir '
                        r'-r "binder/requirements\.txt"', install), install
    # run from the repository root, after the repository is in place: "-e ." is the repo
    assert workdir < copy_repo < installs[0]
    assert steps[installs[0] - 1] == "USER ${NB_USER}"
    assert not [line for line in steps if "postBuild" in line]  # there is none to run


def _python_312() -> str:
    """A Python 3.12 like Binder's (binder/runtime.txt): on PATH or installed by pyenv;
    else the one running the tests."""
    candidates = [shutil.which("python3.12")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    for found in filter(None, candidates):
        probe = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 12)":
            return found
    return sys.executable


@pytest.mark.slow
def test_binder_requirements_install_into_a_fresh_venv_that_runs_the_quickstart(
        tmp_path, monkeypatch):
    started = time.perf_counter()
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO, checkout, ignore=_NOT_IN_A_CHECKOUT)
    venv = tmp_path / "venv"
    python = _python_312()
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    venv_python = venv / "bin" / "python"

    pip = subprocess.run([str(venv_python), "-m", "pip", "install", "--quiet",
                          "--disable-pip-version-check", "-r", "binder/requirements.txt"],
                         cwd=checkout, capture_output=True, text=True, timeout=600, check=False)
    installed = time.perf_counter()
    assert pip.returncode == 0, pip.stdout + pip.stderr

    where = subprocess.run([str(venv_python), "-c", "import flownb; print(flownb.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True)
    assert Path(where.stdout.strip()) == checkout / "flownb" / "__init__.py"  # "-e ." = root
    assert (venv / "bin" / "flownb").exists()  # the CLI notebook 03 uses
    use_kernels(monkeypatch, add_kernel(tmp_path / "kernels", venv_python))
    monkeypatch.setenv("FLOWNB_STORAGE", str(tmp_path / "runs.db"))

    notebook_seconds = run_notebook(checkout / "notebooks" / "01-quickstart.ipynb")

    print(f"python {python}: venv + pip install {installed - started:.0f} s, "
          f"01-quickstart {notebook_seconds:.1f} s")
