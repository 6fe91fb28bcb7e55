"""The ``flownb`` command: run, resume, list, draw and inspect workflows from a terminal.

Exit status: 0 success, 1 failed (or canceled), 2 bad usage or bad input (one line on
stderr, no traceback), 3 suspended (the ``flownb resume …`` command to continue is
printed), 130 interrupted while asking for input.

Each subcommand is one entry of :data:`COMMANDS` (its arguments and its handler), so a new
one is a function pair and a line there.

Whatever a command prints that came from a user (ids, paths, messages, payloads, errors) is
a ``rich`` ``Text``, never markup, with its control characters escaped (``flownb._text``);
``--json`` output escapes them as ``\\uNNNN``, so it is still the same JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from .._text import escape_controls, escape_json_controls
from ..config import resolve_store
from ..errors import FlownbError
from .loader import TargetError, load_origin, load_target, workflows_at

if TYPE_CHECKING:
    from ..core.results import WorkflowResult
    from ..core.run import Run
    from ..storage.base import Store

__all__ = ["COMMANDS", "Command", "UsageError", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SUSPENDED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
_STATUSES = ("running", "success", "failed", "suspended", "canceled")


class UsageError(Exception):
    """Bad usage or bad input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


@dataclass
class Io:
    """Where a command writes: ``out`` (results) and ``err`` (errors, hints)."""

    out: Console
    err: Console


@dataclass(frozen=True)
class Command:
    """A subcommand: its help line, a function adding its arguments, and its handler."""

    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace, Io], int]


# -- run ------------------------------------------------------------------------------------------


def _run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="MODULE[:WF]",
                   help="a dotted module or a .py file, and the workflow (or registry) in it; "
                        "':WF' may be left out when the module holds one workflow")
    given = p.add_mutually_exclusive_group()
    given.add_argument("--input", metavar="JSON", help="the workflow's input, as JSON")
    given.add_argument("--input-file", metavar="FILE",
                       help="a file holding the input as JSON ('-' reads stdin)")
    p.add_argument("--workflow", metavar="NAME",
                   help="the workflow's name when MODULE:WF is a Registry")
    p.add_argument("--run-id", metavar="ID", help="the id of the new run (default: random)")
    p.add_argument("--break", dest="breakpoints", action="append", metavar="STEP",
                   help="pause before this step (a dotted path; '*': every step); "
                        "repeatable. Continue with the printed 'flownb resume' command")
    _view_arguments(p)


def _view_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-live", action="store_true",
                   help="print a line per step instead of the live tree")
    p.add_argument("--json", action="store_true",
                   help="print only the result, as JSON (WorkflowResult.to_dict())")


def cmd_run(args: argparse.Namespace, io: Io) -> int:
    input_data = _json_arg("--input", args.input) if args.input is not None else None
    if args.input_file is not None:
        input_data = _json_arg("--input-file", _read_file(args.input_file))
    target = load_target(args.target, name=args.workflow)
    wf = target.workflow
    run = wf.create_run(run_id=args.run_id)  # a new run (with that id, when given)
    run.origin = target.origin
    result = _follow(run, io, args, lambda: run.start(input_data=input_data,
                                                      breakpoints=args.breakpoints))
    return _report(run, result, io, args)


# -- resume ---------------------------------------------------------------------------------------


def _resume_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--step", metavar="S", help="the suspended step (an id or a dotted path); "
                                               "needed when several are suspended")
    p.add_argument("--data", metavar="JSON", help="the resume data, as JSON (left out on a "
                                                  "terminal: asked field by field)")
    p.add_argument("--input", metavar="JSON", dest="input_data",
                   help="at a breakpoint: continue the step with this input instead of its "
                        "own")
    p.add_argument("--workflow", metavar="MODULE:WF",
                   help="where the run's workflow is defined, when the run does not know "
                        "(it was not started by 'flownb run')")
    _view_arguments(p)


def cmd_resume(args: argparse.Namespace, io: Io) -> int:
    store = resolve_store(None)
    snap = store.load(args.run_id) if store is not None else None
    if snap is None and args.workflow:  # it may live in the workflow's own store
        for candidate in workflows_at(args.workflow):
            own = resolve_store(candidate.storage)
            snap = own.load(args.run_id) if own is not None else None
            if snap is not None:
                break
    if snap is None:
        raise UsageError(f"no stored run '{args.run_id}' in {_store_name(store)}")
    if snap.status != "suspended":
        raise UsageError(f"run '{snap.run_id}' of workflow '{snap.workflow_id}' has status "
                         f"{snap.status}, not suspended; there is nothing to resume")
    origin = args.workflow or snap.meta.get("origin")
    if not origin:
        raise UsageError(f"run '{snap.run_id}' of workflow '{snap.workflow_id}' was not started "
                         "by 'flownb run', so where its workflow is defined is unknown; pass "
                         "--workflow MODULE:WF")
    wf = load_origin(origin, snap.workflow_id)
    if wf.id != snap.workflow_id:
        raise UsageError(f"'{origin}' is workflow '{wf.id}', but run '{snap.run_id}' belongs to "
                         f"workflow '{snap.workflow_id}'")
    run = wf.create_run(run_id=snap.run_id)
    interactive = sys.stdin.isatty()
    asker = io.err if args.json else io.out
    from ..core.breakpoints import is_breakpoint_pause

    step, target = _pick_step(run, args.step, asker if interactive else None)
    result_of = run.steps.get(step)
    if is_breakpoint_pause(result_of):
        # Paused at a breakpoint: it continues with its own input, or the one given.
        if args.data is not None:
            raise UsageError(f"step '{step}' of run '{run.run_id}' is paused at a breakpoint: "
                             "it takes no resume data; continue it as it is, or with "
                             "--input JSON")
        kwargs = {} if args.input_data is None else {
            "input_data": _json_arg("--input", args.input_data)}
        result = _follow(run, io, args, lambda: run.resume(step=step, **kwargs))
        return _report(run, result, io, args)
    if args.input_data is not None:
        raise UsageError(f"step '{step}' of run '{run.run_id}' is not paused at a breakpoint: "
                         "--input is for a breakpoint; answer it with --data JSON")
    if args.data is not None:
        data = _json_arg("--data", args.data)
    else:
        data = _ask_data(run, step, target, asker if interactive else None)
    result = _follow(run, io, args, lambda: run.resume(data, step=step))
    return _report(run, result, io, args)


def _pick_step(run: Run, name: str | None, console: Console | None) -> tuple[str, Any]:
    """The (path, Step) of the suspended step to resume: the one ``--step`` names (as
    ``Run.resume(step=...)`` reads it), the only one, or the one the user picks."""
    suspended = [".".join(p) for p in run.suspended]
    if name is None and len(suspended) > 1:
        if console is None:
            raise UsageError(f"run '{run.run_id}' of workflow '{run.workflow.id}' has several "
                             f"suspended steps ({', '.join(suspended)}); pass --step")
        from .prompts import choose

        name = choose(console, "Several steps are suspended; resume which?", suspended)
    return run.suspended_step(name)


def _ask_data(run: Run, step: str, target: Any, console: Console | None) -> Any:
    """Resume data for the suspended ``target`` step (at path ``step``), asked on the
    terminal; ``None`` when the step needs none."""
    from pydantic import TypeAdapter, ValidationError

    schema = getattr(target, "resume_schema", None)
    where = f"step '{step}' of workflow '{run.workflow.id}'"
    if schema is None:
        return None
    if console is None:
        try:
            TypeAdapter(schema).validate_python(None)
        except ValidationError:
            from .prompts import prompt_fields

            fields = ", ".join(f.path for f in prompt_fields(schema))
            raise UsageError(f"{where} needs resume data ({fields}); pass --data JSON (there "
                             "is no terminal to ask on)") from None
        return None
    from .prompts import ask_resume_data
    from .tree import json_block

    payload = run.steps[step].suspend_payload if step in run.steps else None
    body = (json_block(payload) if payload is not None
            else Text("(no payload)", style="dim"))
    console.print(Panel(body, title=Text(escape_controls(f"‖ {where} is waiting"),
                                         style="bold yellow"),
                        title_align="left", border_style="yellow", expand=False))
    description = getattr(target, "description", None)
    if description:
        console.print(Text(escape_controls(str(description), keep_newlines=True),
                           style="italic"))
    return ask_resume_data(schema, console)


# -- runs, show, inspect ----------------------------------------------------------------------


def _runs_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workflow", metavar="WF", help="only runs of this workflow id")
    p.add_argument("--status", choices=_STATUSES, help="only runs with this status")
    p.add_argument("--json", action="store_true", help="print the runs as JSON")
    bound = p.add_mutually_exclusive_group()
    bound.add_argument("--limit", type=_positive, metavar="N",
                       help="list the latest N runs (default 20; with --json: every run)")
    bound.add_argument("--all", action="store_true", help="list every run")
    p.add_argument("--delete", metavar="RUN_ID", action="append",
                   help="forget this stored run and its step-cache entries (repeatable)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return value


def cmd_runs(args: argparse.Namespace, io: Io) -> int:
    from ..core.fork import fork_points
    from .inspect import RUNS_SHOWN, more_runs, runs_table

    store = resolve_store(None)
    if args.delete:
        return _delete_runs(args.delete, store, io)
    runs = store.list_runs(workflow_id=args.workflow, status=args.status) if store else []
    if args.json:
        _print_json([info.to_dict() for info in runs[:args.limit]])
    elif runs:
        shown = runs if args.all else runs[:args.limit or RUNS_SHOWN]
        io.out.print(runs_table(shown, fork_points(shown, store)))
        if len(shown) < len(runs):
            io.out.print(more_runs(len(shown), len(runs)), soft_wrap=True)
    else:
        io.out.print(Text(escape_controls(
            f"no stored runs in {_store_name(store)}"
            + (" matching the filters" if args.workflow or args.status else ""))),
            soft_wrap=True)
    return EXIT_OK


def _delete_runs(run_ids: list[str], store: Store | None, io: Io) -> int:
    """``flownb runs --delete RUN_ID``: forget each run (and its cache entries, SPEC §3d);
    exit 1 when one of them is not stored."""
    missing = 0
    for run_id in run_ids:
        deleted = store is not None and store.delete(run_id)
        missing += not deleted
        text = (f"deleted run {run_id} from {_store_name(store)}" if deleted else
                f"no stored run {run_id} in {_store_name(store)}")
        (io.out if deleted else io.err).print(Text(escape_controls(text)), soft_wrap=True)
    return EXIT_FAILED if missing else EXIT_OK


# A PNG at Graphviz's own 96 dpi is a thumbnail (a three-step chain is 128 px wide); twice
# that reads well, and is what a high-density screen shows.
_PNG_DPI = 96
_PNG_SCALE = 2.0
_MAX_SCALE = 10


def _show_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="MODULE[:WF]", help="as for 'flownb run'")
    p.add_argument("--workflow", metavar="NAME",
                   help="the workflow's name when MODULE:WF is a Registry")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the step graph to FILE.svg, FILE.png or FILE.dot instead of "
                        "printing an outline")
    p.add_argument("--scale", metavar="N", type=float,
                   help=f"for a .png: N times Graphviz's {_PNG_DPI} dpi (default "
                        f"{_PNG_SCALE:g}, sharp on a high-density screen; at most {_MAX_SCALE})")
    p.add_argument("--direction", choices=("TB", "LR"), default=None,
                   help="with -o: lay the graph out top to bottom (TB, the default) or left "
                        "to right (LR, for long chains)")


def cmd_show(args: argparse.Namespace, io: Io) -> int:
    from .tree import outline_tree

    if args.scale is not None and not 0 < args.scale <= _MAX_SCALE:
        raise UsageError(f"--scale must be more than 0 and at most {_MAX_SCALE}, "
                         f"not {args.scale:g}")
    if args.scale is not None and (args.output is None
                                   or Path(args.output).suffix.lower() != ".png"):
        raise UsageError("--scale is for a PNG: use it with -o FILE.png")
    if args.direction is not None and args.output is None:
        raise UsageError("--direction is for a drawn graph: use it with -o FILE.svg, "
                         "FILE.png or FILE.dot")
    wf = load_target(args.target, name=args.workflow).workflow
    if args.output is None:
        io.out.print(outline_tree(wf.graph.description))
        return EXIT_OK
    path = Path(args.output)
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png", ".dot"):
        raise UsageError(f"cannot write '{path}': unknown format '{suffix or path.name}'; "
                         "use a .svg, .png or .dot file")
    try:
        _write_graph(wf.graph.description, path, suffix, direction=args.direction or "TB",
                     scale=_PNG_SCALE if args.scale is None else args.scale)
    except OSError as exc:
        raise UsageError(f"cannot write '{path}': {exc.strerror or exc}") from None
    except RuntimeError as exc:  # no Graphviz program, or it failed
        raise _GraphvizError(str(exc)) from None
    io.out.print(Text(escape_controls(f"wrote {path}")), soft_wrap=True)
    return EXIT_OK


def _write_graph(description: dict[str, Any], path: Path, suffix: str, *,
                 scale: float = _PNG_SCALE, direction: str = "TB") -> None:
    from ..render import workflow_dot, workflow_svg

    if suffix == ".dot":
        path.write_text(workflow_dot(description, direction=direction), encoding="utf-8")
    elif suffix == ".svg":
        path.write_text(workflow_svg(description, direction=direction), encoding="utf-8")
    else:
        from ..render.svg import find_dot

        program = find_dot()
        done = subprocess.run([program, "-Tpng", f"-Gdpi={_PNG_DPI * scale:g}"],
                              input=workflow_dot(description, direction=direction).encode(),
                              capture_output=True, timeout=60, check=False)
        if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise _GraphvizError(f"{program} could not draw a PNG"
                                 + (f": {message[-1]}" if message else ""))
        path.write_bytes(done.stdout)


class _GraphvizError(RuntimeError):
    pass


def _inspect_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--json", action="store_true", help="print the stored snapshot as JSON")
    p.add_argument("--all", action="store_true",
                   help="list every item of a foreach and the whole result (without it, a "
                        "long foreach is folded: its failed, suspended and running items "
                        "listed, the rest counted)")


def cmd_inspect(args: argparse.Namespace, io: Io) -> int:
    from .inspect import inspect_run

    store = resolve_store(None)
    snap = store.load(args.run_id) if store is not None else None
    if snap is None:
        raise UsageError(f"no stored run '{args.run_id}' in {_store_name(store)}")
    if args.json:
        _print_json(snap.to_json())
    else:
        io.out.print(inspect_run(snap, show_all=args.all, changes=_changes_of(snap, store)))
    return EXIT_OK


def _changes_of(snap: Any, store: Any) -> list[dict[str, str]]:
    """``run.changes()`` of the stored run ``snap`` against the workflow its origin names
    now (SPEC §4b), or ``[]`` when that cannot be loaded (the report does not need it)."""
    origin = snap.meta.get("origin")
    if not origin:
        return []
    try:
        wf = load_origin(origin, snap.workflow_id)
        if resolve_store(wf.storage) is not store:
            return []  # it keeps its runs elsewhere: this run is not one of them
        return wf.create_run(run_id=snap.run_id).changes()
    except Exception:  # an origin that no longer loads, or no longer fits
        return []


def _playground_arguments(p: argparse.ArgumentParser) -> None:
    from .playground import playground_arguments

    playground_arguments(p)


def cmd_playground(args: argparse.Namespace, io: Io) -> int:
    from .playground import exec_lab, lab_command, write_playground

    notebook = write_playground(args.target, args.dir, getattr(args, "storage", None))
    command = lab_command(notebook, no_browser=args.no_browser, port=args.port,
                          extra=list(args.passthrough))
    io.err.print(Text(escape_controls(f"wrote {notebook}; starting JupyterLab")),
                 soft_wrap=True)
    exec_lab(command)
    return EXIT_OK  # only reached when exec_lab is replaced (tests)


def _export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("-o", "--output", metavar="FILE", required=True,
                   help="the HTML file to write (a standalone page: it opens offline)")


def cmd_export(args: argparse.Namespace, io: Io) -> int:
    from ..render.report import snapshot_report

    store = resolve_store(None)
    snap = store.load(args.run_id) if store is not None else None
    if snap is None:
        raise UsageError(f"no stored run '{args.run_id}' in {_store_name(store)}")
    path = Path(args.output)
    try:
        path.write_text(snapshot_report(snap), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write '{path}': {exc.strerror or exc}") from None
    io.out.print(Text(escape_controls(f"wrote {path}")), soft_wrap=True)
    return EXIT_OK


# -- diff ----------------------------------------------------------------------------------------


def _diff_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_a", metavar="RUN_A")
    p.add_argument("run_b", metavar="RUN_B")
    p.add_argument("--json", action="store_true",
                   help="print the comparison as JSON (every step, path and value)")


_DIFF_VALUE = 80  # characters of a value printed before it is cut
_DIFF_LINES = 20  # differences printed per changed step before the rest are counted


def cmd_diff(args: argparse.Namespace, io: Io) -> int:
    from ..core.compare import MISSING, compare

    store = resolve_store(None)
    snaps = []
    for run_id in (args.run_a, args.run_b):
        snap = store.load(run_id) if store is not None else None
        if snap is None:
            raise UsageError(f"no stored run '{run_id}' in {_store_name(store)}")
        snaps.append(snap)
    diff = compare(*snaps)  # the stored records alone: no user code is imported
    if args.json:
        _print_json(diff.to_dict())
        return EXIT_OK

    def value(v: Any) -> str:
        if v is MISSING:
            return "(missing)"
        text = json.dumps(v, ensure_ascii=False, separators=(", ", ": "), default=str)
        return text if len(text) <= _DIFF_VALUE else text[:_DIFF_VALUE - 1] + "…"

    def line(text: str, style: str | None = None) -> None:
        io.out.print(Text(escape_controls(text), style=style or ""), soft_wrap=True)

    for name, side in (("A", diff.a), ("B", diff.b)):
        line(f"{name}: {side.run_id} ({side.workflow_id}, {side.status})")
    width = min(max((len(p) for p in diff), default=0), 40)
    marks = {"same": "same", "only_a": "only in A", "only_b": "only in B"}
    for path in diff:
        step = diff[path]
        if step.status != "changed":
            line(f"  {path:<{width}}  {marks[step.status]}",
                 None if step.status == "same" else "cyan")
            continue
        line(f"~ {path:<{width}}  changed: {', '.join(step.fields)}", "yellow")
        for d in step.differences[:_DIFF_LINES]:
            line(f"    {d.path}: {value(d.a)} -> {value(d.b)}")
        if len(step.differences) > _DIFF_LINES:
            line(f"    … {len(step.differences) - _DIFF_LINES} more differences")
    counts = [f"{len(diff.changed)} changed"]
    counts += [f"{len(diff.only_a)} only in A"] if diff.only_a else []
    counts += [f"{len(diff.only_b)} only in B"] if diff.only_b else []
    line(f"{len(diff)} step{'' if len(diff) == 1 else 's'}: {', '.join(counts)}")
    return EXIT_OK


# -- plan, cache ----------------------------------------------------------------------------------


def _plan_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="MODULE[:WF]", help="as for 'flownb run'")
    given = p.add_mutually_exclusive_group()
    given.add_argument("--input", metavar="JSON", help="the workflow's input, as JSON")
    given.add_argument("--input-file", metavar="FILE",
                       help="a file holding the input as JSON ('-' reads stdin)")
    p.add_argument("--state", metavar="JSON", help="the initial state, as JSON")
    p.add_argument("--workflow", metavar="NAME",
                   help="the workflow's name when MODULE:WF is a Registry")
    p.add_argument("--json", action="store_true",
                   help="print the plan as JSON (path → status, reason, cached_from)")


def cmd_plan(args: argparse.Namespace, io: Io) -> int:
    """What a run on this input would reuse and what it would run, and why; runs nothing."""
    from .plan import plan_table

    input_data = _json_arg("--input", args.input) if args.input is not None else None
    if args.input_file is not None:
        input_data = _json_arg("--input-file", _read_file(args.input_file))
    state = _json_arg("--state", args.state) if args.state is not None else None
    wf = load_target(args.target, name=args.workflow).workflow
    plan = wf.plan(input_data, state=state)
    if args.json:
        _print_json(plan.to_dict())
    else:
        io.out.print(plan_table(plan))
    return EXIT_OK


def _cache_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("clear",),
                   help="clear: forget every fingerprint of the store's step cache (runs "
                        "stay; no step is reused until it ran again)")


def cmd_cache(args: argparse.Namespace, io: Io) -> int:
    store = resolve_store(None)
    if store is None:
        io.out.print(Text(escape_controls(f"nothing to clear: {_store_name(store)}")),
                     soft_wrap=True)
        return EXIT_OK
    count = store.clear_cache()
    io.out.print(Text(escape_controls(
        f"forgot {count} cached step execution{'' if count == 1 else 's'} in "
        f"{_store_name(store)}")), soft_wrap=True)
    return EXIT_OK


# -- watch, inbox ---------------------------------------------------------------------------------


def _watch_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--no-live", action="store_true",
                   help="print a line per step whose status changed instead of the live tree")


def cmd_watch(args: argparse.Namespace, io: Io) -> int:
    """Follow a run that executes elsewhere until it finishes or suspends; the exit status
    is the run's (as for 'flownb run'); Ctrl-C stops watching and leaves the run alone."""
    from ..core.aio import run_sync
    from .view import outcome
    from .watch import StoredRunWatch

    store = resolve_store(None)
    snap = store.load(args.run_id) if store is not None else None
    if snap is None or store is None:
        raise UsageError(f"no stored run '{args.run_id}' in {_store_name(store)}")
    watch = StoredRunWatch(store, snap, console=io.out, live=False if args.no_live else None)

    async def go() -> Any:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        handled = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, lambda: task.cancel() if task else None)
            handled = True
        try:
            return await watch.follow()
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGINT)

    try:
        last = run_sync(go())
    except (KeyboardInterrupt, asyncio.CancelledError):
        io.err.print(Text(escape_controls(
            f"stopped watching run '{args.run_id}'; it was {watch.snap.status} and goes on")),
            soft_wrap=True)
        return EXIT_INTERRUPTED
    if last is None:
        raise UsageError(f"run '{args.run_id}' was deleted while it was watched")
    meta = last.meta
    io.out.print(outcome(last.status, result=meta.get("result"), error=meta.get("error"),
                         steps=last.steps, suspended=meta.get("suspended_paths") or [],
                         whole=f"flownb inspect {args.run_id} --all shows the whole result"))
    if last.status == "success":
        return EXIT_OK
    if last.status == "suspended":
        io.out.print(Text("to continue: ") + Text(escape_controls(shlex.join(
            _resume_command(store, args, last.run_id, meta.get("suspended_paths") or []))),
            style="bold"), soft_wrap=True)
        return EXIT_SUSPENDED
    return EXIT_FAILED


def _inbox_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workflow", metavar="WF", help="only runs of this workflow id")
    p.add_argument("--json", action="store_true",
                   help="print the runs as JSON, each with its resume command")


def cmd_inbox(args: argparse.Namespace, io: Io) -> int:
    """The suspended runs, newest first, with the command that resumes each."""
    from rich.cells import cell_len
    from rich.table import Table

    from ..render.model import preview
    from .inspect import format_time

    store = resolve_store(None)
    runs = store.list_runs(workflow_id=args.workflow, status="suspended") if store else []
    rows = []
    for info in runs:
        snap = store.load(info.run_id) if store is not None else None
        step = ".".join(info.suspended[0]) if info.suspended else ""
        payload = (snap.steps.get(step, {}).get("suspend_payload")
                   if snap is not None and step else None)
        assert store is not None
        command = shlex.join(_resume_command(store, args, info.run_id, info.suspended))
        rows.append((info, step, payload, command))
    if args.json:
        _print_json([{**info.to_dict(), "step": step, "suspend_payload": payload,
                      "resume": command} for info, step, payload, command in rows])
        return EXIT_OK
    if not rows:
        io.out.print(Text(escape_controls(
            f"no suspended runs in {_store_name(store)}"
            + (f" of workflow '{args.workflow}'" if args.workflow else ""))), soft_wrap=True)
        return EXIT_OK
    cells = [(escape_controls(info.run_id), escape_controls(info.workflow_id),
              escape_controls(step), format_time(info.updated_at),
              "" if payload is None else escape_controls(preview(payload, 60)),
              escape_controls(command)) for info, step, payload, command in rows]
    names = ("run id", "workflow", "waiting at", "since", "asks", "to resume")
    widths = [max(len(name), *(cell_len(c[i]) for c in cells)) for i, name in enumerate(names)]
    # Every column but "asks" whole on one line (ids and commands are copied, never cut):
    # a table when they fit beside a glimpse of what each run asks, else a block per run.
    room = io.out.width - (sum(widths) - widths[4] + 2 * (len(names) - 1))  # 2 between
    if room < min(widths[4], _ASKS_GLIMPSE):
        _print_inbox_blocks(io, cells)
        return EXIT_OK
    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold")
    for i, name in enumerate(names):
        table.add_column(name, no_wrap=True, overflow="ellipsis",
                         max_width=room if i == 4 else None)
    for *texts, command in cells:  # Text, never a str: a str in a cell is rich markup
        table.add_row(*map(Text, texts), Text(command, style="bold"))
    io.out.print(table)
    return EXIT_OK


_ASKS_GLIMPSE = 20
"""Characters of a suspend payload's preview a row of ``flownb inbox`` shows at least."""


def _print_inbox_blocks(io: Io, cells: list[tuple[str, str, str, str, str, str]]) -> None:
    """``flownb inbox`` in a narrow terminal: each run as a few lines, nothing cut."""
    for n, (run_id, workflow_id, step, since, asks, command) in enumerate(cells):
        if n:
            io.out.print()
        io.out.print(Text.assemble((run_id, "bold"), "  ", workflow_id), soft_wrap=True)
        io.out.print(Text.assemble(("  waiting at ", "dim"), step, ("  since ", "dim"), since),
                     soft_wrap=True)
        if asks:
            io.out.print(Text.assemble(("  asks ", "dim"), asks), soft_wrap=True)
        io.out.print(Text.assemble(("  to resume ", "dim"), (command, "bold")), soft_wrap=True)


def _resume_command(store: Store, args: argparse.Namespace, run_id: str,
                    suspended: list[list[str]]) -> list[str]:
    """``flownb [--storage PATH] resume RUN_ID [--step S]``: how to continue a stored run."""
    command = ["flownb"]
    storage = _storage_option(store, args)
    if storage is not None:
        command += ["--storage", storage]
    command += ["resume", run_id]
    if len(suspended) > 1:
        command += ["--step", ".".join(suspended[0])]
    return command


COMMANDS: dict[str, Command] = {
    "run": Command("run a workflow and show its steps live", _run_arguments, cmd_run),
    "resume": Command("resume a suspended run", _resume_arguments, cmd_resume),
    "runs": Command("list stored runs", _runs_arguments, cmd_runs),
    "show": Command("outline a workflow, or draw it to .svg/.png/.dot", _show_arguments,
                    cmd_show),
    "inspect": Command("show a stored run: steps, payloads, events", _inspect_arguments,
                       cmd_inspect),
    "export": Command("write a stored run as a standalone HTML report", _export_arguments,
                      cmd_export),
    "diff": Command("compare two stored runs step by step: what changed, and where",
                    _diff_arguments, cmd_diff),
    "playground": Command("open a notebook playground for a module's workflows in JupyterLab",
                          _playground_arguments, cmd_playground),
    "inbox": Command("list the suspended runs, each with the command that resumes it",
                     _inbox_arguments, cmd_inbox),
    "watch": Command("follow a run that runs elsewhere (another process or machine) until "
                     "it finishes or suspends", _watch_arguments, cmd_watch),
    "plan": Command("show what a run on this input would reuse and what it would run, and "
                    "why (runs nothing)", _plan_arguments, cmd_plan),
    "cache": Command("the step cache: 'cache clear' forgets every fingerprint",
                     _cache_arguments, cmd_cache),
}
"""Every subcommand by name."""


# -- shared ---------------------------------------------------------------------------------------


def _follow(run: Run, io: Io, args: argparse.Namespace,
            action: Callable[[], Awaitable[WorkflowResult]]) -> WorkflowResult:
    """Drive ``action`` (start or resume) with the view the options ask for; Ctrl-C cancels
    the run (it ends ``canceled``)."""
    from ..core.aio import run_sync
    from .view import LiveView

    async def go() -> WorkflowResult:
        loop = asyncio.get_running_loop()
        handled = False
        # Ctrl-C cancels the run where the loop can take signals; elsewhere (Windows, a
        # loop off the main thread) it raises those errors and KeyboardInterrupt applies.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, lambda: loop.create_task(run.cancel()))
            handled = True
        try:
            if args.json:
                return await action()
            async with LiveView(run, console=io.out, live=False if args.no_live else None):
                return await action()
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGINT)

    return run_sync(go())


def _report(run: Run, result: WorkflowResult, io: Io, args: argparse.Namespace) -> int:
    from .view import result_outcome

    if args.json:
        _print_json(result.to_dict())
    else:
        io.out.print(result_outcome(result, whole="--json prints the whole result"))
    if result.status == "success":
        return EXIT_OK
    if result.status != "suspended":
        return EXIT_FAILED
    hint_to = io.err if args.json else io.out
    from ..storage.memory import MemoryStore

    if run.store is None or isinstance(run.store, MemoryStore):
        hint_to.print(Text("the run is kept in memory only, so it cannot be resumed once this "
                           "process ends; set --storage or FLOWNB_STORAGE to a file"),
                      soft_wrap=True)
        return EXIT_SUSPENDED
    command = ["flownb"]
    storage = _storage_option(run.store, args)
    if storage is not None:
        command += ["--storage", storage]
    command += ["resume", run.run_id]
    if len(result.suspended) > 1:
        command += ["--step", ".".join(result.suspended[0])]
    hint_to.print(Text("to continue: ") + Text(escape_controls(shlex.join(command)),
                                               style="bold"),
                  soft_wrap=True)
    return EXIT_SUSPENDED


def _storage_option(store: Store, args: argparse.Namespace) -> str | None:
    """``--storage`` for the resume command, when the default store is not the run's."""
    if getattr(args, "storage", None):
        return str(Path(args.storage).expanduser().resolve())
    if store is resolve_store(None):
        return None
    path = getattr(store, "path", None)
    return str(path) if path is not None else None


def _store_name(store: Store | None) -> str:
    if store is None:
        return "no store (storage=False)"
    path = getattr(store, "path", None)
    return f"'{path}'" if path is not None else repr(store)


def _json_arg(option: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option} is not valid JSON: {exc}") from None


def _read_file(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read --input-file '{name}': {exc.strerror or exc}") from None


def _jsonable(value: Any) -> Any:
    from ..core.schema import to_jsonable

    return to_jsonable(value)


def _print_json(data: Any) -> None:
    text = json.dumps(_jsonable(data), indent=2, ensure_ascii=False)
    sys.stdout.write(escape_json_controls(text) + "\n")
    sys.stdout.flush()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: global options, then one subparser per :data:`COMMANDS` entry."""
    from .. import __version__

    parser = _Parser(prog="flownb", description="Run, resume, list, draw and inspect flownb "
                                                "workflows.")
    parser.add_argument("--version", action="version", version=f"flownb {__version__}")
    storage_help = ("the SQLite file runs are stored in (default: $FLOWNB_STORAGE, else "
                    ".flownb/runs.db); a workflow with its own storage= keeps it")
    parser.add_argument("--storage", metavar="PATH", help=storage_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=_Parser)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        p.add_argument("--storage", metavar="PATH", help=storage_help,
                       default=argparse.SUPPRESS)
        command.arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``flownb`` command with ``argv`` (default: ``sys.argv[1:]``); returns the
    exit status.

    >>> main(["runs", "--status", "suspended"])                    # doctest: +SKIP
    """
    out, err = Console(), Console(stderr=True)
    try:
        words = list(sys.argv[1:] if argv is None else argv)
        passthrough: list[str] = []
        if "--" in words:  # `flownb playground MOD -- --port 9999 …`: the rest is JupyterLab's
            cut = words.index("--")
            words, passthrough = words[:cut], words[cut + 1:]
        args = build_parser().parse_args(words)
        args.passthrough = passthrough
        if passthrough and args.command != "playground":
            raise UsageError("arguments after '--' are only for 'flownb playground'")
        if args.storage:
            from ..config import configure

            configure(storage=args.storage)
        return COMMANDS[args.command].handler(args, Io(out, err))
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except (UsageError, TargetError, FlownbError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except _GraphvizError as exc:
        return _fail(str(exc), EXIT_FAILED)
    except EOFError:
        return _fail("no answer (end of input); the run is unchanged", EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)


def _fail(message: str, code: int) -> int:
    # One line, whatever the message holds: its line breaks and tabs become spaces, and
    # its other control characters (it may quote a run id or a stored error) escapes.
    line = " ".join(escape_controls(message, keep_newlines=True).split())
    sys.stderr.write(f"flownb: error: {line}\n")
    sys.stderr.flush()
    return code
