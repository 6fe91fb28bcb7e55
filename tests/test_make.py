"""Set-up: what `make lab` installs covers what the course notebooks import, and no more
than it needs; `make test` still installs the test extra. And what a newcomer reads first in
the course notebooks' saved outputs."""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
TEST_TOOLS = {"pytest", "mypy", "playwright", "ruff", "hypothesis", "jupyter-repo2docker"}


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _closure(requirements: list[str]) -> set[str]:
    """The distributions ``requirements`` install, following the installed metadata."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen or name == "flownb":
            continue
        seen.add(name)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # not installed here: its own requirements are unknown
        for text in dist.requires or []:
            sub = Requirement(text)
            wanted = {""} | set(req.extras)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in wanted):
                todo.append(sub)
    return seen


def _notebook_imports() -> set[str]:
    """Top-level modules imported by the course notebooks' code cells."""
    found: set[str] = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            # Magics and shell lines are not Python; top-level await is.
            lines = ["" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines()]
            tree = ast.parse("\n".join(lines))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module.split(".")[0])
    return found


def test_the_lab_install_covers_what_the_notebooks_import():
    local = {p.stem for p in (ROOT / "notebooks").glob("*.py")}
    third_party = _notebook_imports() - set(sys.stdlib_module_names) - local - {"flownb"}
    assert "distributed" in third_party  # notebook 06: the check below has teeth
    installed = _closure(PROJECT["dependencies"] + EXTRAS["notebooks"])
    providers = md.packages_distributions()
    missing = {module for module in third_party
               if not {canonicalize_name(d) for d in providers.get(module, [module])}
               & installed}
    assert missing == set(), f"the notebooks import {missing}, which `make lab` does not install"


def test_the_lab_install_has_no_test_tools_and_the_test_extra_has_all_of_it():
    assert _closure(PROJECT["dependencies"] + EXTRAS["notebooks"]) & TEST_TOOLS == set()
    # `make lab` installs nothing in a venv whose test install is current: it must hold all.
    assert _names(EXTRAS["notebooks"]) <= _names(EXTRAS["test"])


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_lab_installs_the_notebooks_extra_and_make_test_the_test_extra(tmp_path):
    def dry_run(target: str) -> str:
        done = subprocess.run(["make", "-n", target, f"VENV={tmp_path / 'venv'}"], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        return done.stdout

    lab = dry_run("lab")
    installs = re.findall(r"pip install [^\n;]*", lab)
    # pip itself quietly, then the lab's install without --quiet: pip's progress shows
    assert installs == ["pip install --quiet --upgrade pip", 'pip install -e ".[notebooks]"']
    assert "jupyter\" lab notebooks/" in lab
    test = dry_run("test")
    assert 'pip install --quiet -e ".[test]"' in test and ".[notebooks]" not in test


def test_a_timeout_in_the_saved_notebooks_is_said_once():
    said = [line for path in sorted((ROOT / "notebooks").glob("*.ipynb"))
            for cell in json.loads(path.read_text())["cells"]
            for output in cell.get("outputs", [])
            for line in "".join(output.get("text", [])).splitlines()
            if "timed out after" in line]
    assert said  # notebook 04 shows one
    for line in said:
        assert len(re.findall(r"\b\d+(?:\.\d+)? s\b", line)) == 1, line
