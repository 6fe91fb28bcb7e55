"""``run.fork(step, …)``: a new run whose journal starts as a copy of its parent's (SPEC §3d).

What a fork copies is exactly what a resume at ``step`` would not run again: every record
that completed before ``step`` started (step records by their ``ended_at``, journal
records — loop iterations and verdicts, branch decisions — by the time they were recorded,
``at``). For a foreach item (``"review[2]"``) the other items of that foreach are copied
too: only that item runs again; so are the steps that ran beside ``step`` on the other
branches of a ``.parallel`` (SPEC §2: stored siblings are not re-run by a fork).
``step`` itself runs again with the given input (the engine's ``given_inputs``, the
mechanism a breakpoint's edited input uses), never reused; its original input by default,
which must still fit its current input schema. ``resume_data`` is handed to it as a resume
would (``targets``). Everything after it runs with the current definition of the workflow.

The fork is checked against the current definition (``replay_problems``, after
``migrate=``) and stored as a new run with status ``pending`` and ``parent_run_id`` /
``forked_at`` in its meta, before it is returned; ``start()`` claims it. The parent is
only read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import (
    InputValidationError,
    ResumeError,
    ResumeValidationError,
    describe_field_errors,
    field_errors_from_pydantic,
)
from . import clock
from .codec import Unstorable, from_stored, to_stored
from .keys import named_path, node_path, strip_items
from .schema import validate

if TYPE_CHECKING:
    from ..storage.base import Snapshot
    from .run import Run

__all__ = ["PENDING", "apply_migrations", "fork_points", "fork_run", "fork_snapshot",
           "forkable"]

PENDING = "pending"  # a stored fork that was not started yet


def fork_run(run: Run, step: Any, *, input_data: Any, resume_data: Any, state: Any,
             run_id: str | None, migrate: Mapping[str, Callable[[Any], Any]] | None,
             no_input: Any) -> Run:
    """``run.fork(...)``: build, check and store the fork; return it (not started)."""
    from ..errors import FlownbError
    from .continuing import check_definition
    from .recorder import stored_record
    from .run import Run

    wf = run.workflow
    snap = _parent_snapshot(run)
    if run_id is not None and (not isinstance(run_id, str) or not run_id):
        raise FlownbError(f"workflow '{wf.id}': run_id must be a non-empty string, got "
                          f"{run_id!r}", workflow_id=wf.id)
    new_id = run_id or clock.new_run_id()
    fork, _display = fork_snapshot(run, snap, step, input_data=input_data,
                                   resume_data=resume_data, state=state, run_id=new_id,
                                   no_input=no_input)
    child = Run(wf, new_id, run.store)
    child._graph = fork.graph
    child._load(fork)
    changed = apply_migrations(child, migrate)
    check_definition(child, "fork")
    for display in changed[0]:
        fork.steps[display] = stored_record(child._ex.steps[display])
    for key in changed[1]:
        fork.journal[key] = {k: to_stored(v) for k, v in child._ex.journal[key].items()}
    if run.store is not None:
        run.store.insert(fork)  # ConcurrentRunError when that run id is taken
    child._load(fork)
    child.origin = run.origin
    return child


def _parent_snapshot(run: Run) -> Snapshot:
    """The parent as stored (only read), or, for a run kept in memory only, as it is."""
    from ..errors import RunNotFoundError
    from .recorder import new_snapshot, shown_record, stored_record

    wf = run.workflow
    if run.store is not None:
        snap = run.store.load(run.run_id)
        if snap is not None:
            return run._check_owner(snap)
    elif run.status not in (PENDING, "running"):
        ex = run._ex
        snap = new_snapshot(ex, status=run.status, created_at=run._created_at or 0.0,
                            origin=run.origin, stored_input=to_stored(ex.input))
        snap.steps = {d: stored_record(sr) if sr.status in ("success", "suspended")
                      else shown_record(sr) for d, sr in ex.steps.items()}
        snap.journal = {k: {f: to_stored(v) for f, v in rec.items()}
                        for k, rec in ex.journal.items()}
        return snap
    raise RunNotFoundError(
        f"run '{run.run_id}' of workflow '{wf.id}' was never started, so there is nothing "
        "to fork", workflow_id=wf.id, run_id=run.run_id)


def forkable(snap: Snapshot, workflow: Any) -> list[str]:
    """Display paths of the parent's steps a fork can start at (steps that ran)."""
    steps = workflow.steps
    return [d for d, rec in snap.steps.items()
            if rec.get("started_at") is not None and strip_items(d) in steps]


def resolve_fork_step(run: Run, snap: Snapshot, step: Any) -> str:
    """The display path ``step`` names among the steps the parent ran."""
    candidates = forkable(snap, run.workflow)
    listing = ", ".join(f"'{p}'" for p in candidates) or "none"
    name = named_path(step) or repr(step)
    if name in candidates:
        return name
    matches = [p for p in candidates if p.rsplit(".", 1)[-1] == name]
    if len(matches) == 1:
        return matches[0]
    wf = run.workflow
    what = "matches several steps; name one by its path" if matches else "never ran in it"
    raise ResumeError(
        f"cannot fork run '{run.run_id}' of workflow '{wf.id}' at '{name}': it {what}. "
        f"Steps it can be forked at: {listing}", workflow_id=wf.id, run_id=run.run_id)


def _iteration_key(snap: Snapshot, display: str) -> str:
    """The journal key of a loop step's last iteration, or ``display`` for other steps."""
    prefix = display + "[@"
    keys = [k for k in snap.journal if k.startswith(prefix) and not k.endswith("?]")
            and "." not in k[len(prefix):]]
    return keys[-1] if keys else display


def _parallel_entries(description: Mapping[str, Any]) -> dict[str, int]:
    """Node path → an id of the ``.parallel`` entry that holds it (units of one
    ``.parallel`` share it), for the nodes a ``.parallel`` holds directly."""
    from .description import walk

    nodes = list(walk(description))  # keeps the entries alive while their ids are used
    return {n.path: id(n.entry) for n in nodes if n.holder == "parallel"}


def _beside(parallel: Mapping[str, int], node: str, forked: str) -> bool:
    """Is graph node ``node`` on another branch of a ``.parallel`` than ``forked`` (at the
    first level where their paths part)? Then it neither comes before nor after it: it ran
    beside it, and a fork copies it whatever its time (SPEC §2: stored siblings are not
    re-run by a fork)."""
    a, b = node.split("."), forked.split(".")
    for depth in range(min(len(a), len(b))):
        if a[depth] != b[depth]:
            left, right = ".".join(a[:depth + 1]), ".".join(b[:depth + 1])
            entry = parallel.get(left)
            return entry is not None and entry == parallel.get(right)
    return False


def _copied(snap: Snapshot, display: str, key: str,
            description: Mapping[str, Any] | None = None,
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parent's records a fork at ``display`` keeps (see the module docstring)."""
    started = snap.steps[display].get("started_at") or 0.0
    base = strip_items(display)
    item = display != base  # a foreach item: its sibling items are kept whatever their time
    siblings = display[:display.rfind("[")] + "[" if item else None
    parallel = _parallel_entries(description) if description is not None else {}
    steps: dict[str, Any] = {}
    for d, rec in snap.steps.items():
        if d == display or d.startswith((display + ".", display + "[")):
            continue
        if rec.get("status") != "success":
            continue
        ended = rec.get("ended_at")
        if (siblings is not None and d.startswith(siblings)) or (
                ended is not None and ended <= started) or (
                parallel and _beside(parallel, node_path(d), base)):
            steps[d] = rec
    journal: dict[str, Any] = {}
    for k, rec in snap.journal.items():
        if k == key or k.startswith((key + ".", key + "[")):
            continue
        at = rec.get("at")
        if rec.get("status") not in (None, "success"):
            continue
        if (siblings is not None and k.startswith(siblings)) or at is None or at <= started \
                or (parallel and _beside(parallel, node_path(k), base)):
            journal[k] = rec
    return steps, journal


def fork_snapshot(run: Run, snap: Snapshot, step: Any, *, input_data: Any, resume_data: Any,
                  state: Any, run_id: str, no_input: Any) -> tuple[Snapshot, str]:
    """The new run's snapshot (status ``pending``, version 1) and the forked display path.

    Raises ``ResumeError`` (no such step), ``InputValidationError`` /
    ``ResumeValidationError`` (``input_data`` / ``resume_data`` do not fit the step)."""
    from ..storage.base import Snapshot

    wf = run.workflow
    display = resolve_fork_step(run, snap, step)
    target = wf.steps[strip_items(display)]
    key = _iteration_key(snap, display)
    original = snap.steps[display]
    if input_data is no_input:
        # Its original input, which must still fit the step's current input schema
        # (checked here, so a fork never stores an input its step refuses on start).
        given = original.get("payload")
        schema = target.input_schema
        if display == strip_items(display) and display + "[0]" in snap.steps:
            schema = list[schema]  # type: ignore[valid-type]  # a whole foreach: its list
        try:
            if schema is not None:
                from_stored(schema, given)
        except ValidationError as exc:
            errors = field_errors_from_pydantic(exc)
            raise InputValidationError(
                f"cannot fork run '{run.run_id}' of workflow '{wf.id}' at '{display}': its "
                f"original input no longer matches the step's input_schema "
                f"({describe_field_errors(errors)}); give input_data= (nothing was stored)",
                workflow_id=wf.id, step_path=display, field_errors=errors) from None
    else:
        given = _checked(run, display, target.input_schema, input_data, InputValidationError,
                         "input")
    meta: dict[str, Any] = {
        "parent_run_id": snap.run_id, "forked_at": display,
        "given_inputs": {key: given},
        "state": _seen_state(snap, display) if state is None else _checked_state(run, state),
        "targets": {}, "suspended_paths": [], "suspended_keys": {},
    }
    if resume_data is not None:
        schema = getattr(target, "resume_schema", None)
        meta["targets"] = {key: _checked(run, display, schema, resume_data,
                                         ResumeValidationError, "resume data")}
    if "origin" in snap.meta:
        meta["origin"] = snap.meta["origin"]
    for name in ("cache", "prints"):
        if name in snap.meta:
            meta[name] = snap.meta[name]
    steps, journal = _copied(snap, display, key, wf.graph.description)
    now = clock.now()
    fork = Snapshot(run_id=run_id, workflow_id=wf.id, status=PENDING, version=1,
                    created_at=now, updated_at=now, input=snap.input,
                    graph=wf.graph.description, meta=meta, steps=steps, journal=journal)
    return fork, display


def _seen_state(snap: Snapshot, display: str) -> Any:
    """The state the step at ``display`` saw when it started: the last one set before
    (``meta["states"]``, kept from a run's first ``set_state`` on), else the stored state
    (nothing ever set it, or a run stored before the history was kept)."""
    started = snap.steps[display].get("started_at") or 0.0
    seen = None
    for at, state in snap.meta.get("states") or ():
        if at > started:
            break
        seen = [state]
    return seen[0] if seen is not None else snap.meta.get("state")


def _checked(run: Run, display: str, schema: Any, value: Any, error: type[Any],
             what: str) -> Any:
    """``value`` validated by ``schema`` and as stored JSON; ``error`` names the fields."""
    wf = run.workflow
    try:
        checked = validate(schema, value) if schema is not None else value
        return to_stored(checked)
    except ValidationError as exc:
        errors = field_errors_from_pydantic(exc)
        raise error(
            f"invalid {what} for step '{display}' of workflow '{wf.id}' in a fork of run "
            f"'{run.run_id}': {describe_field_errors(errors)} (nothing was stored)",
            workflow_id=wf.id, step_path=display, field_errors=errors) from None
    except Unstorable as exc:
        raise error(
            f"invalid {what} for step '{display}' of workflow '{wf.id}': it cannot be "
            f"stored as JSON: {exc.describe()} (nothing was stored)", workflow_id=wf.id,
            step_path=display, field_errors=[]) from None


def _checked_state(run: Run, state: Any) -> Any:
    wf = run.workflow
    schema = wf.state_schema
    try:
        return to_stored(validate(schema, state) if schema is not None else state)
    except ValidationError as exc:
        errors = field_errors_from_pydantic(exc)
        raise InputValidationError(
            f"invalid state for a fork of run '{run.run_id}' of workflow '{wf.id}': "
            f"{describe_field_errors(errors)} (nothing was stored)", workflow_id=wf.id,
            field_errors=errors) from None


def apply_migrations(run: Run, migrate: Mapping[str, Callable[[Any], Any]] | None,
                     ) -> tuple[list[str], list[str]]:
    """``migrate={"step-id": fn}``: convert the stored outputs of those steps (each foreach
    item, each loop iteration) with ``fn(old_json)``, validated by the step's current
    output schema, in the run's memory; the claim that follows writes them (the step
    paths and journal keys changed are returned for it). Raises ``WorkflowDefinitionError``
    naming the step and the fields; nothing is written then."""
    from ..errors import WorkflowDefinitionError

    changed: tuple[list[str], list[str]] = ([], [])
    if not migrate:
        return changed
    ex = run._ex
    wf = run.workflow
    steps = wf.steps
    for name, fn in migrate.items():
        path = name if name in steps else next(
            (p for p in steps if p.rsplit(".", 1)[-1] == name), None)
        if path is None or not callable(fn):
            raise WorkflowDefinitionError(
                f"migrate= of run '{run.run_id}': workflow '{wf.id}' has no step "
                f"'{name}'" if path is None else f"migrate['{name}'] is not a function",
                workflow_id=wf.id, run_id=run.run_id, step_path=name)
        schema = steps[path].output_schema
        for display, sr in ex.steps.items():
            if sr.status == "success" and strip_items(display) == path:
                many = display == path and display + "[0]" in ex.steps  # a foreach's list
                sr.output = _migrated(run, display, fn, sr.output, schema, many)
                ex.stored_json.discard(display)
                changed[0].append(display)
        for key, rec in ex.journal.items():
            if "output" in rec and rec.get("status") == "success" and node_path(key) == path \
                    and key != path:
                rec["output"] = _migrated(run, key, fn, rec["output"], schema, False)
                ex.stored_json.discard(key)
                changed[1].append(key)
    return changed




def _migrated(run: Run, where: str, fn: Callable[[Any], Any], old: Any, schema: Any,
              many: bool) -> Any:
    from ..errors import WorkflowDefinitionError

    wf = run.workflow
    olds = old if many and isinstance(old, list) else [old]
    out = []
    for value in olds:
        try:
            out.append(from_stored(schema, to_stored(fn(to_stored(value)))))
        except ValidationError as exc:
            fields = describe_field_errors(field_errors_from_pydantic(exc))
            raise WorkflowDefinitionError(
                f"migrate= of run '{run.run_id}' of workflow '{wf.id}': the converted output "
                f"of step '{where}' does not match its output_schema ({fields}); the stored "
                "run is unchanged", workflow_id=wf.id, run_id=run.run_id,
                step_path=where) from None
        except Exception as exc:
            raise WorkflowDefinitionError(
                f"migrate= of run '{run.run_id}' of workflow '{wf.id}': converting the output "
                f"of step '{where}' raised {type(exc).__name__}: {exc}; the stored run is "
                "unchanged", workflow_id=wf.id, run_id=run.run_id, step_path=where) from exc
    return out if many and isinstance(old, list) else out[0]


def fork_points(runs: Iterable[Any], store: Any) -> dict[str, str | None]:
    """Run id → the step each fork among ``runs`` (``RunInfo`` with a ``parent_run_id``)
    was forked at, read from its stored meta in ``store`` (``None`` when it cannot be
    read); other runs are left out, so only forks cost a read. For run lists."""
    points: dict[str, str | None] = {}
    for info in runs:
        if getattr(info, "parent_run_id", None) is None:
            continue
        try:
            snap = store.load(info.run_id) if store is not None else None
        except Exception:  # a listing never fails for want of one detail
            snap = None
        at = snap.meta.get("forked_at") if snap is not None else None
        points[info.run_id] = at if isinstance(at, str) else None
    return points
