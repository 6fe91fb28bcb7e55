"""flownb's layers point down: read every module's imports and hold them against LAYERS.

A *unit* is a subpackage (``flownb.core``) or a top-level module (``flownb.config``); the
package's own ``__init__`` is the unit ``flownb``. Module-level imports are what count for
the picture (rules a and b): an import inside a function, or under ``if TYPE_CHECKING:``,
runs only when used, which is how a lower layer reaches a higher one's optional extras
(``Run._repr_mimebundle_`` loads the notebook view). Rule c counts every import.

(a) no cycle between units;
(b) no unit imports one of a higher layer;
(c) no module uses another package's private (``_underscore``) name: a private module or
    attribute belongs to the package that holds it and to that package's own modules
    (``flownb._text`` is shared by the whole library; ``flownb.executors._worker`` only by
    ``flownb.executors``).

Every violation is listed with its file and line, then the test fails once.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import flownb

# Bottom to top. A unit may import units of its own layer (rule a still holds) and below.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("flownb._text", "flownb.errors"),  # leaves: showing user text safely, the exceptions
    ("flownb.core",),  # the engine: stdlib and pydantic only
    ("flownb.storage", "flownb.render", "flownb.executors"),  # where runs are kept, drawn, run
    ("flownb.config", "flownb.registry", "flownb.discovery"),  # process settings, named
    # workflows and finding them in user code
    ("flownb.notebook", "flownb.terminal"),  # the faces a person sees
    ("flownb", "flownb.__main__"),  # the public surface and ``python -m flownb``
)

ROOT = Path(flownb.__file__).parent


@dataclass(frozen=True)
class Import:
    """One import statement's names from one module of the package."""

    module: str  # the importing module
    file: str
    line: int
    target: str  # the module imported from
    names: tuple[str, ...]  # the attributes taken from it (none for ``import x.y``)
    module_level: bool

    def __str__(self) -> str:
        what = f"{', '.join(self.names)} from {self.target}" if self.names else self.target
        return f"{self.file}:{self.line}: {self.module} imports {what}"


@dataclass(frozen=True)
class Package:
    """The modules of a package tree on disk."""

    root: Path  # the directory of the top package
    name: str
    modules: dict[str, Path]  # dotted name -> file
    packages: frozenset[str]  # dotted names that are packages


def read_package(root: Path) -> Package:
    name = root.name
    modules: dict[str, Path] = {}
    packages: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        parts = [name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
            packages.add(".".join(parts))
        modules[".".join(parts)] = path
    return Package(root, name, modules, frozenset(packages))


def unit_of(module: str) -> str:
    """``flownb.core.run`` -> ``flownb.core``; ``flownb.config`` and ``flownb`` stay."""
    return ".".join(module.split(".")[:2])


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(body: list[ast.stmt], module_level: bool):
    """(node, runs at import time) for every import statement under ``body``."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, module_level
        elif isinstance(node, ast.If):
            yield from _walk(node.body, module_level and not _is_type_checking(node.test))
            yield from _walk(node.orelse, module_level)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _walk(node.body, False)
        elif isinstance(node, ast.ClassDef):
            yield from _walk(node.body, module_level)
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    stmts = [s for s in inner if isinstance(s, ast.stmt)]
                    handlers = [h for h in inner if isinstance(h, ast.ExceptHandler)]
                    yield from _walk(stmts, module_level)
                    for h in handlers:
                        yield from _walk(h.body, module_level)


def read_imports(pkg: Package) -> list[Import]:
    """Every import of a module of ``pkg`` from ``pkg``, resolved to modules."""
    out: list[Import] = []
    for module, path in pkg.modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        here = module if module in pkg.packages else module.rpartition(".")[0]
        file = str(path.relative_to(pkg.root.parent))
        for node, module_level in _walk(tree.body, True):
            found: dict[str, list[str]] = defaultdict(list)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found[alias.name] = []
            else:
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    if f"{source}.{alias.name}" in pkg.modules:  # a submodule
                        found[f"{source}.{alias.name}"] = []
                    else:
                        found[source].append(alias.name)
            for target, names in found.items():
                if target == pkg.name or target.startswith(pkg.name + "."):
                    out.append(Import(module, file, node.lineno, target, tuple(names),
                                      module_level))
    return out


def _private_owner(pkg: Package, dotted: str) -> str | None:
    """The package a private name in ``dotted`` belongs to, or None if it has none."""
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            owner = parts[:i]
            while owner and ".".join(owner) not in pkg.packages:
                owner.pop()  # a private attribute of a module belongs to its package
            return ".".join(owner)
    return None


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer_problems(root: Path, layers: tuple[tuple[str, ...], ...] = LAYERS) -> list[str]:
    """Every import of the package at ``root`` that breaks rule a, b or c, one line each."""
    pkg = read_package(root)
    level = {unit: i for i, units in enumerate(layers) for unit in units}
    imports = read_imports(pkg)
    problems: list[str] = []
    unplaced = sorted({unit_of(m) for m in pkg.modules} - set(level))
    for unit in unplaced:
        problems.append(f"{unit} is in no layer: add it to LAYERS in tests/test_layers.py")
    edges: dict[str, set[str]] = defaultdict(set)
    sites: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in imports:
        src, dst = unit_of(imp.module), unit_of(imp.target)
        for dotted in (imp.target, *(f"{imp.target}.{n}" for n in imp.names)):
            owner = _private_owner(pkg, dotted)
            if owner is not None and not (imp.module == owner
                                          or imp.module.startswith(owner + ".")):
                problems.append(f"{imp}: (c) {dotted} is private to {owner}")
                break
        if not imp.module_level or src == dst:
            continue
        edges[src].add(dst)
        sites[src, dst].append(imp)
        if src in level and dst in level and level[dst] > level[src]:
            problems.append(f"{imp}: (b) upward, from layer {level[src]} ({src}) to layer "
                            f"{level[dst]} ({dst})")
    for component in _cycles(edges):
        ties = []
        for a in component:  # each tie once, by its first import (and how many more)
            for b in component:
                if sites[a, b]:
                    more = len(sites[a, b]) - 1
                    ties.append(f"    {sites[a, b][0]}" + (f" (+{more} more)" if more else ""))
        problems.append(f"(a) a cycle between {', '.join(component)}:\n" + "\n".join(ties))
    return problems


def test_flownb_layers_point_down():
    problems = layer_problems(ROOT)
    assert not problems, "imports that break flownb's layers:\n" + "\n".join(problems)


# -- the check itself, on a made-up package -------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "flownb" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "flownb"


_BASE = {
    "__init__.py": "from . import errors\n",
    "errors.py": "",
    "_text.py": "",
    "core/__init__.py": "",
    "core/run.py": ("from typing import TYPE_CHECKING\n"
                    "from .._text import escape\n"
                    "if TYPE_CHECKING:\n    from ..notebook.view import RunView\n"
                    "def show():\n    from ..notebook.view import RunView\n"),
    "executors/__init__.py": "",
    "executors/_worker.py": "from ..core import run\n",
    "executors/dask.py": "from ._worker import run_call\n",
    "notebook/__init__.py": "",
    "notebook/view.py": "from ..core.run import show\n",
}


def test_a_sound_package_passes(tmp_path):
    assert layer_problems(_tree(tmp_path, _BASE)) == []


def test_an_upward_import_at_the_top_of_a_core_module_fails(tmp_path):
    files = dict(_BASE)
    files["core/run.py"] = "from ..notebook import view\n" + files["core/run.py"]
    problems = layer_problems(_tree(tmp_path, files))
    assert problems == [
        "flownb/core/run.py:1: flownb.core.run imports flownb.notebook.view: (b) upward, "
        "from layer 1 (flownb.core) to layer 4 (flownb.notebook)",
        "(a) a cycle between flownb.core, flownb.notebook:\n"
        "    flownb/core/run.py:1: flownb.core.run imports flownb.notebook.view\n"
        "    flownb/notebook/view.py:1: flownb.notebook.view imports show from flownb.core.run",
    ]


def test_a_private_name_of_another_package_fails(tmp_path):
    files = dict(_BASE)
    files["core/remote.py"] = "def f():\n    from ..executors._worker import BAIL\n"
    files["notebook/view.py"] += "from ..core.run import _private\n"
    problems = layer_problems(_tree(tmp_path, files))
    assert problems == [
        "flownb/core/remote.py:2: flownb.core.remote imports BAIL from flownb.executors._worker:"
        " (c) flownb.executors._worker is private to flownb.executors",
        "flownb/notebook/view.py:2: flownb.notebook.view imports _private from flownb.core.run:"
        " (c) flownb.core.run._private is private to flownb.core",
    ]


def test_a_unit_in_no_layer_fails(tmp_path):
    files = dict(_BASE)
    files["plugins/__init__.py"] = ""
    assert layer_problems(_tree(tmp_path, files)) == [
        "flownb.plugins is in no layer: add it to LAYERS in tests/test_layers.py"]
