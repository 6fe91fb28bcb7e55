"""Finding the workflow a command names: ``MODULE[:ATTR]`` with ``MODULE`` a dotted module
name or a path to a ``.py`` file, and ``ATTR`` a ``Workflow`` or a ``Registry``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..core.workflow import Workflow
from ..registry import Registry

__all__ = ["Target", "TargetError", "load_origin", "load_target", "workflows_at"]


class TargetError(Exception):
    """The named workflow cannot be found or loaded (the message says why, on one line)."""


@dataclass(frozen=True)
class Target:
    """A workflow found by name, and the ``"module:attr"`` that finds it again (its origin)."""

    workflow: Workflow
    origin: str


def load_target(spec: str, *, name: str | None = None) -> Target:
    """The workflow ``spec`` names.

    ``spec`` is ``MODULE:ATTR`` or just ``MODULE`` when the module holds exactly one workflow
    (or one registry). A registry needs ``name`` (the name it holds the workflow under)
    unless it holds only one.
    """
    module_ref, attr = split_spec(spec)
    module, origin_module = import_module(module_ref)
    if attr is None:
        attr = _only_workflow(module, module_ref)
    obj = _attribute(module, attr, module_ref)
    return Target(_workflow_of(obj, f"{module_ref}:{attr}", name), f"{origin_module}:{attr}")


def load_origin(origin: str, workflow_id: str) -> Workflow:
    """The workflow a stored run's ``origin`` (``"module:attr"``) names; a registry there
    gives the workflow whose id is ``workflow_id``."""
    module_ref, attr = split_spec(origin)
    module, _ = import_module(module_ref)
    if attr is None:
        attr = _only_workflow(module, module_ref)
    obj = _attribute(module, attr, module_ref)
    if isinstance(obj, Registry):
        for wf in obj.workflows.values():
            if wf.id == workflow_id:
                return wf
        known = ", ".join(f"'{w.id}'" for w in obj.workflows.values()) or "none"
        raise TargetError(f"registry '{origin}' holds no workflow with id '{workflow_id}' "
                          f"(its workflows: {known})")
    return _workflow_of(obj, origin, None)


def workflows_at(spec: str) -> list[Workflow]:
    """The workflow ``spec`` names, or every workflow of the registry it names."""
    module_ref, attr = split_spec(spec)
    module, _ = import_module(module_ref)
    obj = _attribute(module, attr or _only_workflow(module, module_ref), module_ref)
    if isinstance(obj, Registry):
        return list(obj.workflows.values())
    return [_workflow_of(obj, spec, None)]


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"app.py:wf"`` → ``("app.py", "wf")``; ``"pkg.mod"`` → ``("pkg.mod", None)``.

    Only a colon followed by a dotted identifier separates an attribute, so a Windows drive
    (``C:\\flows\\app.py``) stays part of the path.
    """
    module_ref, sep, attr = spec.rpartition(":")
    if sep and module_ref and all(part.isidentifier() for part in attr.split(".")):
        return module_ref, attr
    if not spec or spec.endswith(":"):
        raise TargetError(f"'{spec}' does not name a workflow; write MODULE:WORKFLOW "
                          "(MODULE a dotted module or a .py file)")
    return spec, None


def import_module(module_ref: str) -> tuple[ModuleType, str]:
    """Import a dotted module or a ``.py`` file; returns it and how an origin names it (a
    file by its absolute path, so a later ``flownb resume`` finds it from anywhere)."""
    path = Path(module_ref)
    if module_ref.endswith(".py") or "/" in module_ref or os.sep in module_ref:
        return _import_file(path), str(path.resolve())
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_ref), module_ref
    except ModuleNotFoundError as exc:
        if exc.name and module_ref.startswith(exc.name):
            raise TargetError(f"cannot import module '{module_ref}': no module named "
                              f"'{exc.name}' (run from the directory that holds it, or "
                              "give the path to its .py file)") from None
        raise TargetError(_import_failure(module_ref, exc)) from None
    except Exception as exc:
        raise TargetError(_import_failure(module_ref, exc)) from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise TargetError(f"no such file: '{path}'")
    path = path.resolve()
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # so the file's own imports of its neighbours work
    name = path.stem if path.stem.isidentifier() else "flownb_user_module"
    existing = sys.modules.get(name)
    if existing is not None:
        if getattr(existing, "__file__", None) == str(path):
            return existing
        name = f"flownb_user_{name}"  # never shadow an imported module of that name
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot import '{path}' as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic and dataclasses look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise TargetError(_import_failure(str(path), exc)) from None
    return module


def _import_failure(what: str, exc: BaseException) -> str:
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        where = f" ({Path(last.filename).name}, line {last.lineno})"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (f"importing '{what}' failed{where}: {type(exc).__name__}"
            + (f": {text}" if text else ""))


def _attribute(module: ModuleType, attr: str, module_ref: str) -> Any:
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            found = _found(module)
            hint = f" (workflows there: {', '.join(found)})" if found else ""
            raise TargetError(f"module '{module_ref}' has no attribute '{attr}'{hint}") \
                from None
    return obj


def _found(module: ModuleType) -> list[str]:
    return [name for name, value in vars(module).items()
            if isinstance(value, (Workflow, Registry)) and not name.startswith("_")]


def _only_workflow(module: ModuleType, module_ref: str) -> str:
    names = [n for n, v in vars(module).items()
             if isinstance(v, Workflow) and not n.startswith("_")]
    seen: dict[int, str] = {}
    for n in names:  # one workflow bound to two names is still one workflow
        seen.setdefault(id(getattr(module, n)), n)
    # A workflow nested in another one of the module is part of it, not a candidate.
    nested = {id(step) for n in seen.values() for step in getattr(module, n).steps.values()}
    names = [n for key, n in seen.items() if key not in nested]
    if not names:
        registries = [n for n, v in vars(module).items()
                      if isinstance(v, Registry) and not n.startswith("_")]
        if len(registries) == 1:
            return registries[0]
        raise TargetError(f"module '{module_ref}' holds no workflow; name one as "
                          f"{module_ref}:WORKFLOW")
    if len(names) > 1:
        raise TargetError(f"module '{module_ref}' holds several workflows "
                          f"({', '.join(names)}); name one, e.g. {module_ref}:{names[0]}")
    return names[0]


def _workflow_of(obj: Any, where: str, name: str | None) -> Workflow:
    if isinstance(obj, Registry):
        if name is None:
            if len(obj) == 1:
                return next(iter(obj.workflows.values()))
            known = ", ".join(obj.workflows) or "none"
            raise TargetError(f"'{where}' is a registry; choose a workflow with --workflow "
                              f"NAME (known: {known})")
        try:
            return obj.get_workflow(name)
        except KeyError as exc:
            raise TargetError(f"'{where}': {exc.args[0]}") from None
    if name is not None:
        raise TargetError(f"'{where}' is a workflow, not a registry; --workflow NAME only "
                          "applies to a registry")
    if not isinstance(obj, Workflow):
        raise TargetError(f"'{where}' is a {type(obj).__name__}, not a flownb Workflow or "
                          "Registry")
    if not obj.committed:
        raise TargetError(f"workflow '{obj.id}' ('{where}') is not committed; call "
                          ".commit() on it")
    return obj
