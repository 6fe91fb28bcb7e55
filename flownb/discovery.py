"""Finding workflows: what a user names, what a module holds, where a stored run came from.

A *target* is what a person writes: ``MODULE[:ATTR]``, with ``MODULE`` a dotted module name
or a path to a ``.py`` file and ``ATTR`` a workflow or a ``Registry`` in it (left out when
the module holds exactly one). An *origin* is what a stored run records
(``snapshot.meta["origin"]``, ``run.origin``) so that another process can find its workflow
again. It has one of three forms:

* ``"pkg.mod:attr"``: a dotted module, imported from ``sys.path`` (the working directory
  first);
* ``"/abs/path/app.py:attr"``: a file, imported by its absolute path, so it loads from any
  working directory (``flownb run app.py`` records this form);
* ``"MODULE:registry"``: a ``Registry`` in either kind of module; the run's workflow is the
  one it holds with the run's workflow id.

>>> target = load_target("app.py:registry", name="greeter")     # doctest: +SKIP
>>> target.origin                                                # doctest: +SKIP
'/home/me/flows/app.py:registry'
>>> load_origin(target.origin, "greet") is target.workflow       # doctest: +SKIP
True

Everything that finds a workflow by name goes through here: the ``flownb`` command, the
``%flow`` magics, ``RunView(run_id)`` and the playground. Failures raise :class:`TargetError`
with a one-line message naming what was asked for and why it failed.

Only the standard library is imported at module level, so any layer can import this one;
workflows and registries are recognised by ``isinstance`` against classes imported on use.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core.workflow import Workflow
    from .registry import Registry

__all__ = [
    "Target",
    "TargetError",
    "choose",
    "import_module",
    "load_origin",
    "load_target",
    "lookup",
    "origin_of",
    "split_spec",
    "workflows_at",
    "workflows_in",
]

NOTEBOOK = "the notebook's namespace"
"""How messages name a notebook's namespace (``module=None`` below)."""


class TargetError(Exception):
    """A named workflow, or a stored run's origin, cannot be found or loaded.

    ``message`` says which and why on one line; ``target`` is what was asked for (a target
    such as ``"app.py:wf"`` or an origin), ``reason`` why it failed.
    """

    def __init__(self, message: str, *, target: str | None = None,
                 reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.target = target
        self.reason = reason if reason is not None else message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Target:
    """A workflow found by name, and the origin that finds it again from another process."""

    workflow: Workflow
    origin: str


# -- targets and origins ----------------------------------------------------------------------


def load_target(spec: str, *, name: str | None = None) -> Target:
    """The workflow ``spec`` (``MODULE[:ATTR]``) names, with its origin.

    A registry needs ``name`` (the name it holds the workflow under) unless it holds only
    one; the origin then names the registry, and :func:`load_origin` picks the workflow by id.
    """
    module_ref, attr = split_spec(spec)
    module, _ = import_module(module_ref)
    namespace = vars(module)
    if attr is None:
        attr = _only(namespace, module_ref)
    obj = lookup(namespace, attr, module=module_ref)
    return Target(choose(obj, f"{module_ref}:{attr}", name), origin_of(module_ref, attr))


def origin_of(module_ref: str, attr: str) -> str:
    """The origin recorded for ``attr`` of ``module_ref`` (as a user wrote it): a dotted
    module as it is, a ``.py`` file by its absolute path.

    >>> origin_of("pkg.flows", "review")
    'pkg.flows:review'
    """
    if _is_path(module_ref):
        return f"{Path(module_ref).resolve()}:{attr}"
    return f"{module_ref}:{attr}"


def load_origin(origin: str, workflow_id: str | None = None) -> Workflow:
    """The workflow a stored run's ``origin`` names (any of the three forms).

    A registry there gives the workflow whose id is ``workflow_id``; a workflow there must
    have that id (when given). Raises :class:`TargetError` naming the origin and the reason.
    """
    try:
        module_ref, attr = split_spec(origin)
        module, _ = import_module(module_ref)
        namespace = vars(module)
        if attr is None:
            attr = _only(namespace, module_ref)
        obj = lookup(namespace, attr, module=module_ref)
        return _of_run(obj, f"{module_ref}:{attr}", workflow_id)
    except TargetError as exc:
        what = f"workflow '{workflow_id}'" if workflow_id else "a workflow"
        raise TargetError(f"cannot load {what} from '{origin}': {exc.message}",
                          target=origin, reason=exc.message) from None


def workflows_at(spec: str) -> list[Workflow]:
    """The workflow ``spec`` names, or every workflow of the registry it names."""
    module_ref, attr = split_spec(spec)
    module, _ = import_module(module_ref)
    return list(workflows_in(vars(module), attr or _only(vars(module), module_ref),
                             module=module_ref).values())


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
                          "(MODULE a dotted module or a .py file)", target=spec)
    return spec, None


# -- importing --------------------------------------------------------------------------------


def import_module(module_ref: str) -> tuple[ModuleType, str]:
    """Import a dotted module or a ``.py`` file; returns it and how an origin names it (a
    file by its absolute path, so a later process finds it from anywhere).

    A file's folder goes first on ``sys.path`` (so its own imports of its neighbours work)
    and the module is registered under its file name, or ``flownb_user_<name>`` when a
    different module of that name is already imported; the same file is imported once.
    """
    if _is_path(module_ref):
        path = Path(module_ref)
        return _import_file(path), str(path.resolve())
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_ref), module_ref
    except ModuleNotFoundError as exc:
        if exc.name and module_ref.startswith(exc.name):
            raise TargetError(f"cannot import module '{module_ref}': no module named "
                              f"'{exc.name}' (run from the directory that holds it, or "
                              "give the path to its .py file)", target=module_ref) from None
        raise TargetError(_import_failure(module_ref, exc), target=module_ref) from None
    except Exception as exc:
        raise TargetError(_import_failure(module_ref, exc), target=module_ref) from None


def _is_path(module_ref: str) -> bool:
    return module_ref.endswith(".py") or "/" in module_ref or os.sep in module_ref


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise TargetError(f"no such file: '{path}'", target=str(path))
    path = path.resolve()
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    base = path.stem if path.stem.isidentifier() else "module"
    name = base if path.stem.isidentifier() else f"flownb_user_{base}"
    for candidate in (name, f"flownb_user_{base}"):
        existing = sys.modules.get(candidate)
        if existing is None:
            name = candidate
            break
        if getattr(existing, "__file__", None) == str(path):
            return existing
        name = f"flownb_user_{base}"  # never shadow an imported module of that name
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot import '{path}' as a Python module", target=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic and dataclasses look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise TargetError(_import_failure(str(path), exc), target=str(path)) from None
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


# -- what a module holds ----------------------------------------------------------------------


def lookup(namespace: Mapping[str, Any], name: str, *, module: str | None = None) -> Any:
    """``namespace[name]``, following dots (``"mod.attr"``); ``module`` names the module
    the namespace belongs to in messages (``None``: a notebook's namespace)."""
    head, *rest = name.split(".")
    try:
        obj = namespace[head]
        for part in rest:
            obj = getattr(obj, part)
    except (KeyError, AttributeError):
        found = list(_holdings(namespace))
        hint = f" (workflows there: {', '.join(found)})" if found else ""
        where = f"module '{module}'" if module is not None else NOTEBOOK
        raise TargetError(f"{where} has no attribute '{name}'{hint}",
                          target=_target(module, name)) from None
    return obj


def choose(obj: Any, where: str, name: str | None = None) -> Workflow:
    """The committed workflow ``obj`` is, or the one a registry ``obj`` holds as ``name``
    (which may be left out when it holds one); ``where`` names ``obj`` in messages."""
    workflow_type, registry_type = _kinds()
    if isinstance(obj, registry_type):
        if name is None:
            if len(obj) == 1:
                return next(iter(obj.workflows.values()))
            known = ", ".join(obj.workflows) or "none"
            raise TargetError(f"'{where}' is a registry; choose a workflow with --workflow "
                              f"NAME (known: {known})", target=where)
        try:
            return obj.get_workflow(name)
        except KeyError as exc:
            raise TargetError(f"'{where}': {exc.args[0]}", target=where) from None
    if name is not None:
        raise TargetError(f"'{where}' is a workflow, not a registry; --workflow NAME only "
                          "applies to a registry", target=where)
    if not isinstance(obj, workflow_type):
        raise TargetError(f"'{where}' is a {type(obj).__name__}, not a flownb Workflow or "
                          "Registry", target=where)
    if not obj.committed:
        raise TargetError(f"workflow '{obj.id}' ('{where}') is not committed; call "
                          ".commit() on it", target=where)
    return obj


def workflows_in(namespace: Mapping[str, Any], name: str | None = None, *,
                 module: str | None = None) -> dict[str, Workflow]:
    """The workflows a namespace offers, by name: those of ``name`` (a registry's, by the
    names it holds them under, or one workflow, by its id), or without ``name`` every
    registry's workflows and every other committed workflow (by id).

    ``namespace`` is a module's ``vars()`` or a notebook's namespace; ``module`` names the
    module in messages (``None``: a notebook's namespace).
    """
    _, registry_type = _kinds()
    if name is not None:
        obj = lookup(namespace, name, module=module)
        if isinstance(obj, registry_type):
            return dict(obj.workflows)
        wf = choose(obj, _target(module, name))
        return {wf.id: wf}
    found: dict[str, Workflow] = {}
    held = _holdings(namespace).values()
    for value in held:
        if isinstance(value, registry_type):
            found.update(value.workflows)
    for value in held:
        if not isinstance(value, registry_type) and value.committed \
                and all(value is not wf for wf in found.values()):
            found[value.id] = value
    return found


def _of_run(obj: Any, where: str, workflow_id: str | None) -> Workflow:
    """The workflow of a stored run of ``workflow_id`` that ``obj`` (at ``where``) gives."""
    _, registry_type = _kinds()
    if isinstance(obj, registry_type) and workflow_id is not None:
        for wf in obj.workflows.values():
            if wf.id == workflow_id:
                return wf
        known = ", ".join(f"'{w.id}'" for w in obj.workflows.values()) or "none"
        raise TargetError(f"registry '{where}' holds no workflow with id '{workflow_id}' "
                          f"(its workflows: {known})", target=where)
    wf = choose(obj, where)
    if workflow_id is not None and wf.id != workflow_id:
        raise TargetError(f"'{where}' is workflow '{wf.id}', not '{workflow_id}'",
                          target=where)
    return wf


def _holdings(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Public names bound to a workflow or a registry, each object once (first name wins)."""
    workflow_type, registry_type = _kinds()
    seen: dict[int, str] = {}
    held: dict[str, Any] = {}
    for key, value in list(namespace.items()):
        if isinstance(value, (workflow_type, registry_type)) and not key.startswith("_") \
                and id(value) not in seen:
            seen[id(value)] = key
            held[key] = value
    return held


def _only(namespace: Mapping[str, Any], module_ref: str) -> str:
    """The name of the one workflow ``module_ref`` holds (a workflow nested in another one
    is part of it, not a candidate), or of its one registry when it holds no workflow."""
    _, registry_type = _kinds()
    held = _holdings(namespace)
    workflows = {k: v for k, v in held.items() if not isinstance(v, registry_type)}
    nested = {id(step) for wf in workflows.values() for step in wf.steps.values()}
    names = [k for k, wf in workflows.items() if id(wf) not in nested]
    if not names:
        registries = [k for k, v in held.items() if isinstance(v, registry_type)]
        if len(registries) == 1:
            return registries[0]
        raise TargetError(f"module '{module_ref}' holds no workflow; name one as "
                          f"{module_ref}:WORKFLOW", target=module_ref)
    if len(names) > 1:
        raise TargetError(f"module '{module_ref}' holds several workflows "
                          f"({', '.join(names)}); name one, e.g. {module_ref}:{names[0]}",
                          target=module_ref)
    return names[0]


def _target(module: str | None, name: str) -> str:
    return f"{module}:{name}" if module is not None else name


def _kinds() -> tuple[type[Workflow], type[Registry]]:
    # Imported on use: this module stays importable from any layer, at no cost.
    from .core.workflow import Workflow
    from .registry import Registry

    return Workflow, Registry
