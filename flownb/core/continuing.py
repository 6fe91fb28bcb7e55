"""Continuing a stored run: what ``resume``, ``restart`` and a fork's ``start`` check and
claim before the engine drives the run again (SPEC §3, §3d, §4b).

Each ``prepare_*`` function raises before anything is written when the call cannot go on
(the run is not suspended, the data does not fit, the stored run no longer fits the
definition: ``check_definition``, after ``migrate=``), and ends by claiming the stored run
(a compare-and-swap on its version: one writer wins).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import (
    ConcurrentRunError,
    FlownbError,
    InputValidationError,
    ResumeError,
    ResumeValidationError,
    RunNotFoundError,
    WorkflowDefinitionError,
    describe_field_errors,
    field_errors_from_pydantic,
)
from . import keys
from .breakpoints import at_breakpoint
from .changes import refresh_prints
from .codec import Unstorable, from_stored, to_stored
from .context import RuntimeContext
from .execution import RUNNING, SUSPENDED
from .fork import apply_migrations
from .recorder import Recorder
from .replay import replay_problems
from .schema import validate

if TYPE_CHECKING:
    from .run import Run

__all__ = ["NO_INPUT", "check_definition", "prepare_fork_start", "prepare_restart",
           "prepare_resume", "resolve_suspended", "stored_targets", "unstorable_fields"]

NO_INPUT: Any = object()  # resume(): no input_data given


def unstorable_fields(exc: Unstorable) -> list[dict[str, Any]]:
    """The field errors of a value that cannot be stored as JSON."""
    return [{"field": exc.path or "(root)", "type": "unstorable",
             "message": f"cannot be stored as JSON: it {exc.reason}"}]


def prepare_resume(run: Run, resume_data: Any, step: Any, runtime_context: Any,
                    input_data: Any = NO_INPUT,
                    migrate: Mapping[str, Callable[[Any], Any]] | None = None) -> None:
    wf = run.workflow
    if run._ex.active:
        raise ConcurrentRunError(
            f"run '{run.run_id}' of workflow '{wf.id}' is executing right now; wait for "
            "it before resuming", workflow_id=wf.id, run_id=run.run_id)
    # Never started here, and (asking the store) not elsewhere either.
    if run.status == "pending" and (run.store is None
                                     or run.store.load(run.run_id) is None):
        raise RunNotFoundError(
            f"run '{run.run_id}' of workflow '{wf.id}' was never started, so there "
            "is nothing to resume", workflow_id=wf.id, run_id=run.run_id)
    if run.store is not None and not run._fresh:
        # Another process may have moved the run on; the claim below would catch a
        # stale view anyway, but reloading gives the precise error (not suspended).
        run._load(run._fetch())
    run._fresh = False
    if run.status == RUNNING:
        raise ConcurrentRunError(
            f"run '{run.run_id}' of workflow '{wf.id}' is running (another resume or "
            "process holds it); if the process running it died, call run.restart()",
            workflow_id=wf.id, run_id=run.run_id)
    if run.status != SUSPENDED:
        raise ResumeError(
            f"run '{run.run_id}' of workflow '{wf.id}' has status {run.status}, not "
            "suspended; "
            "only a suspended run can be resumed", workflow_id=wf.id, run_id=run.run_id)
    display, key = resolve_suspended(run, step)
    target = run._ex.step_by_display(display)
    schema = getattr(target, "resume_schema", None)
    data = resume_data
    if at_breakpoint(run._ex, key, display):
        data = continue_data(run, display, target, resume_data, input_data)
    elif input_data is not NO_INPUT:
        raise ResumeError(
            f"run '{run.run_id}' of workflow '{wf.id}': step '{display}' suspended "
            "itself, so it takes resume_data; input_data continues only a step paused "
            "at its breakpoint", workflow_id=wf.id, run_id=run.run_id)
    elif schema is not None:
        try:
            data = validate(schema, resume_data)
        except ValidationError as exc:
            errors = field_errors_from_pydantic(exc)
            raise ResumeValidationError(
                f"invalid resume data for step '{display}' of workflow '{wf.id}': "
                f"{describe_field_errors(errors)} (the run is still suspended)",
                workflow_id=wf.id, step_path=display, run_id=run.run_id,
                field_errors=errors) from None
    if run.store is not None:
        try:
            to_stored(data)
        except Unstorable as exc:
            raise ResumeValidationError(
                f"invalid resume data for step '{display}' of workflow '{wf.id}': it "
                f"cannot be stored as JSON: {exc.describe()} (the run is still "
                "suspended)", workflow_id=wf.id, step_path=display, run_id=run.run_id,
                field_errors=unstorable_fields(exc)) from None
    migrated = migrate_outputs(run, migrate)
    if run.store is not None:
        check_definition(run, "resume")
    if runtime_context is not None:
        run._ex.runtime_context = RuntimeContext.of(runtime_context)
    run._ex.targets = {key: data}
    if run.store is not None:
        refresh_prints(run._ex)
        recorder = claimer(run, migrated)
        try:
            recorder.claim()  # one writer wins
        except BaseException:
            run._ex.targets = {}
            raise
        run._recorder = recorder
    run.status = RUNNING


def migrate_outputs(run: Run, migrate: Mapping[str, Callable[[Any], Any]] | None,
             ) -> tuple[list[str], list[str]]:
    """Apply ``migrate=`` (``core.fork.apply_migrations``) to the loaded run; on an
    error the stored run is unchanged and this object is reloaded from it."""
    if not migrate:
        return [], []
    try:
        return apply_migrations(run, migrate)
    except BaseException:
        if run.store is not None:
            run._load(run._fetch())
        raise


def claimer(run: Run, migrated: tuple[list[str], list[str]]) -> Recorder:
    """The recorder that claims the run, with the outputs ``migrate=`` converted in its
    change log (so the claim writes them)."""
    assert run.store is not None
    recorder = Recorder(run.store, run._ex, run._version, run.origin)
    for display in migrated[0]:
        recorder.step_changed(display)
    for key in migrated[1]:
        recorder.journal_changed(key)
    return recorder


def continue_data(run: Run, display: str, target: Any, resume_data: Any,
                   input_data: Any) -> dict[str, Any]:
    """What continues a step paused at its breakpoint: ``{}`` (its own input) or
    ``{"input": ...}`` (validated against the step's input schema, storable)."""
    wf = run.workflow
    if resume_data is not None:
        raise ResumeError(
            f"run '{run.run_id}' of workflow '{wf.id}': step '{display}' is paused at "
            "its breakpoint and has not run yet, so it takes no resume_data; continue it "
            f"with run.resume(step='{display}') or with other input through "
            f"run.resume(step='{display}', input_data=...)", workflow_id=wf.id,
            run_id=run.run_id)
    if input_data is NO_INPUT:
        return {}
    try:
        value = validate(target.input_schema, input_data)
    except ValidationError as exc:
        errors = field_errors_from_pydantic(exc)
        raise InputValidationError(
            f"invalid input for step '{display}' of workflow '{wf.id}': "
            f"{describe_field_errors(errors)} (the run is still paused at its "
            "breakpoint)", workflow_id=wf.id, step_path=display,
            field_errors=errors) from None
    if run.store is not None:
        run._storable(value, f"input of step '{display}'")
    return {"input": value}


def check_definition(run: Run, action: str) -> None:
    """Before claiming: does the stored run still fit the current definition? Raises
    ``WorkflowDefinitionError`` naming each step and field; the run stays untouched."""
    problems = replay_problems(run._ex, run._graph)
    if not problems:
        return
    wf = run.workflow
    raise WorkflowDefinitionError(
        f"cannot {action} run '{run.run_id}': the definition of workflow '{wf.id}' "
        "changed since it was stored, and what it stored no longer fits: "
        + "; ".join(problems) + ". The stored run is unchanged; continue it with a "
        "definition that fits (for example the one that made it).",
        problems=problems, workflow_id=wf.id, run_id=run.run_id)


def resolve_suspended(run: Run, step: Any) -> tuple[str, str]:
    """The (display path, journal key) of the suspended step ``step`` names."""
    wf = run.workflow
    suspended = run._ex.suspended
    listing = ", ".join(f"'{p}'" for p in suspended) or "none"

    def fail(text: str) -> ResumeError:
        return ResumeError(f"run '{run.run_id}' of workflow '{wf.id}': {text} "
                           f"(suspended: {listing})", workflow_id=wf.id,
                           run_id=run.run_id)

    if step is None:
        if len(suspended) == 1:
            display = next(iter(suspended))
            return display, suspended[display]
        raise fail("several steps are suspended; pass step= to say which")
    name = keys.named_path(step)
    if name is None:
        raise fail(f"step= must be a Step, an id or a path, not {type(step).__name__}")
    if name in suspended:
        return name, suspended[name]
    matches = [p for p in suspended if p.startswith((name + ".", name + "["))]
    if not matches:
        matches = [p for p in suspended if p.rsplit(".", 1)[-1].split("[", 1)[0] == name]
    if len(matches) == 1:
        return matches[0], suspended[matches[0]]
    if matches:
        raise fail(f"'{name}' matches several suspended steps; name one")
    raise fail(f"step '{name}' is not suspended")


def prepare_restart(run: Run, runtime_context: Any,
                    migrate: Mapping[str, Callable[[Any], Any]] | None) -> None:
    """``restart()`` before it drives: the stored run is ``running`` and fits the
    definition; its resume targets are read back; it is claimed (one writer wins)."""
    wf = run.workflow
    if run.store is None:
        raise ResumeError(f"workflow '{wf.id}' keeps no stored runs; nothing to restart",
                          workflow_id=wf.id, run_id=run.run_id)
    if run._ex.active:
        raise ConcurrentRunError(f"run '{run.run_id}' is executing in this process",
                                 workflow_id=wf.id, run_id=run.run_id)
    snap = run._fetch()
    run._load(snap)
    if snap.status != RUNNING:
        raise ResumeError(
            f"run '{run.run_id}' of workflow '{wf.id}' is {snap.status}; restart() "
            "continues only a run whose process died while it was running",
            workflow_id=wf.id, run_id=run.run_id)
    migrated = migrate_outputs(run, migrate)
    check_definition(run, "restart")
    run._ex.targets = stored_targets(run, "restart")
    if runtime_context is not None:
        run._ex.runtime_context = RuntimeContext.of(runtime_context)
    refresh_prints(run._ex)
    recorder = claimer(run, migrated)
    recorder.claim()
    run._recorder = recorder
    run.status = RUNNING


def prepare_fork_start(run: Run, input_data: Any, runtime_context: Any, initial_state: Any,
                        breakpoints: Iterable[str] | str | None,
                        cache: bool | None) -> None:
    """``start()`` of a stored fork: claim it (one start wins) and run it from its copy."""
    wf = run.workflow
    if input_data is not None or initial_state is not None:
        raise FlownbError(
            f"run '{run.run_id}' of workflow '{wf.id}' is a fork of run "
            f"'{run.parent_run_id}': it has its input and state; start() it without "
            "input_data and initial_state (give them to fork())", workflow_id=wf.id,
            run_id=run.run_id)
    ex = run._ex
    ex.breakpoints = run._breakpoints(breakpoints)
    if cache is not None:
        ex.cache = cache
    if runtime_context is not None:
        ex.runtime_context = RuntimeContext.of(runtime_context)
    ex.targets = stored_targets(run, "start")
    if run.store is not None:
        run._fresh = False
        refresh_prints(ex)
        recorder = Recorder(run.store, ex, run._version, run.origin)
        recorder.status = RUNNING
        recorder.claim()  # one start wins
        run._recorder = recorder
    run.status = RUNNING


def stored_targets(run: Run, action: str) -> dict[str, Any]:
    """The resume data a stored run holds for its steps (a restart's, a fork's
    ``resume_data``), read back with each step's current resume schema (a breakpoint's
    ``{"input": …}`` as it is: the step validates its input itself). Data that no longer
    fits raises ``WorkflowDefinitionError`` naming the step; nothing is written then."""
    ex = run._ex
    targets: dict[str, Any] = {}
    for key, data in ex.stored_targets.items():
        display = next((d for d, k in ex.suspended.items() if k == key), key)
        step = ex.step_by_display(keys.node_path(display))
        schema = getattr(step, "resume_schema", None)
        if at_breakpoint(ex, key, display):
            schema = None
        try:
            targets[key] = from_stored(schema, data) if schema is not None else data
        except ValidationError as exc:
            fields = describe_field_errors(field_errors_from_pydantic(exc))
            raise WorkflowDefinitionError(
                f"cannot {action} run '{run.run_id}': the resume data stored for step "
                f"'{display}' no longer matches its resume_schema ({fields}); the stored "
                "run is unchanged", workflow_id=run.workflow.id, run_id=run.run_id,
                step_path=display) from None
    return targets
