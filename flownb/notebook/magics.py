"""The ``%flow`` magics (``%load_ext flownb``).

::

    %flow show WF                          the step graph
    %flow run WF [--input JSON] [-o VAR]   run with a live view; the result goes to VAR
    %%flow run WF [-o VAR]                 the same, the cell body being the JSON input
    %flow plan WF [--input JSON] [--state JSON]
                                           what a run would reuse and run, and why
    %%flow plan WF                         the same, the cell body being the JSON input
    %flow runs [WF] [--status S] [--limit N | --all]
                                           the latest 20 stored runs (N, or all of them)
    %flow resume RUN_ID                    the live view of a stored run, with its form
    %flow inspect RUN_ID [--all]           step table, events and answers of a stored run
    %flow playground [NAME]                a tab per workflow: input form, runs, views
    %flow inbox [WORKFLOW_ID]              the suspended runs, each answered from its form

``WF`` is a name in the notebook's namespace (``module.attr`` works too): a workflow, or a
``Registry`` with ``--workflow NAME`` (left out when it holds one). ``%flow resume`` takes
the run's workflow from the notebook, else from the origin the run recorded (``flownb run``
records one). Bad usage prints a short usage message, no traceback. Names are resolved by
:mod:`flownb.discovery`, as the ``flownb`` command resolves them.
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import HTML, display
from pydantic import ValidationError

from .._text import escape_html
from ..core.fork import fork_points
from ..core.schema import validate
from ..discovery import TargetError, choose, load_origin, lookup, workflows_in
from ..errors import FlownbError, describe_field_errors, field_errors_from_pydantic
from . import _html

__all__ = ["FlowMagics", "register"]

USAGE = """\
%flow show WF
%flow run WF [--input JSON] [--break STEP]... [-o VAR]
%%flow run WF [--break STEP]... [-o VAR]   (cell body: the JSON input)
%flow plan WF [--input JSON] [--state JSON] [-o VAR]   (or %%flow plan WF: body = input)
%flow runs [WF] [--status S] [--limit N | --all]
%flow resume RUN_ID
%flow inspect RUN_ID [--all]
%flow playground [NAME]
%flow inbox [WORKFLOW_ID]
WF: a workflow (or a Registry, with --workflow NAME) in the notebook's namespace."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as a ``UsageError`` instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n\nusage:\n{USAGE}")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return value


def _parser() -> _Parser:
    parser = _Parser(prog="%flow", add_help=False)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    show = sub.add_parser("show", add_help=False)
    show.add_argument("wf")
    show.add_argument("--workflow")
    run = sub.add_parser("run", add_help=False)
    run.add_argument("wf")
    run.add_argument("--input")
    run.add_argument("--break", dest="breakpoints", action="append")
    run.add_argument("--workflow")
    run.add_argument("-o", dest="output")
    plan = sub.add_parser("plan", add_help=False)
    plan.add_argument("wf")
    plan.add_argument("--input")
    plan.add_argument("--state")
    plan.add_argument("--workflow")
    plan.add_argument("-o", dest="output")
    runs = sub.add_parser("runs", add_help=False)
    runs.add_argument("wf", nargs="?")
    runs.add_argument("--status")
    runs.add_argument("--workflow")
    bound = runs.add_mutually_exclusive_group()
    bound.add_argument("--limit", type=_positive)
    bound.add_argument("--all", action="store_true")
    sub.add_parser("resume", add_help=False).add_argument("run_id")
    inspect = sub.add_parser("inspect", add_help=False)
    inspect.add_argument("run_id")
    inspect.add_argument("--all", action="store_true")
    sub.add_parser("playground", add_help=False).add_argument("name", nargs="?")
    sub.add_parser("inbox", add_help=False).add_argument("wf", nargs="?")
    return parser


@magics_class
class FlowMagics(Magics):
    """``%flow`` / ``%%flow``."""

    @line_cell_magic
    def flow(self, line: str, cell: str | None = None) -> None:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%flow: {exc}\n\nusage:\n{USAGE}") from None
        if not words:
            raise UsageError(f"usage:\n{USAGE}")
        args = _parser().parse_args(words)
        if cell is not None and args.command not in ("run", "plan"):
            raise UsageError(f"%%flow takes a cell body only with 'run' or 'plan'\n\n"
                             f"usage:\n{USAGE}")
        try:
            getattr(self, f"_{args.command}")(args, cell)
        except FlownbError as exc:  # bad input, unknown run: one line, no traceback
            raise UsageError(exc.message) from None
        except TargetError as exc:  # a name that is not a workflow: one line too
            raise UsageError(f"%flow: {exc.message}") from None

    # -- commands -----------------------------------------------------------------------------

    def _show(self, args: argparse.Namespace, _cell: str | None) -> None:
        display(self._workflow(args.wf, args.workflow))

    def _run(self, args: argparse.Namespace, cell: str | None) -> None:
        from ..core.aio import run_sync
        from .view import RunView

        wf = self._workflow(args.wf, args.workflow)
        data = _input_of(wf, "run", cell, args.input)  # invalid: no view and no run
        unknown = [b for b in args.breakpoints or () if b != "*" and b not in wf.steps]
        if unknown:  # before the view: no run is drawn that will never start
            raise UsageError(
                f"workflow '{wf.id}' has no step {', '.join(repr(b) for b in unknown)} to set "
                f"a breakpoint on; its steps: {', '.join(repr(p) for p in wf.steps)}")
        run = wf.create_run()
        display(RunView(run))
        result = run_sync(run.start(data, breakpoints=args.breakpoints))
        if args.output:
            self._namespace[args.output] = result

    def _plan(self, args: argparse.Namespace, cell: str | None) -> None:
        wf = self._workflow(args.wf, args.workflow)
        data = _input_of(wf, "plan", cell, args.input)
        state = _json_of("plan", "--state", args.state) if args.state is not None else None
        plan = wf.plan(data, state=state)
        display(plan)
        if args.output:
            self._namespace[args.output] = plan

    def _runs(self, args: argparse.Namespace, _cell: str | None) -> None:
        from ..config import resolve_store

        if args.wf is not None:
            wf = self._workflow(args.wf, args.workflow)
            runs = wf.runs(status=args.status)
            store = resolve_store(wf.storage)
        else:
            store = resolve_store(None)
            runs = store.list_runs(status=args.status) if store is not None else []
        if not runs:
            what = f" with status '{args.status}'" if args.status else ""
            display(HTML(f"<i>no stored runs{escape_html(what)}</i>"))
            return
        shown = runs if args.all else runs[:args.limit or _html.RUNS_SHOWN]
        display(HTML(_html.run_table(shown, total=len(runs),
                                     forks=fork_points(shown, store))))

    def _resume(self, args: argparse.Namespace, _cell: str | None) -> None:
        from .view import RunView

        snap, store = self._snapshot(args.run_id)
        wf = self._workflow_by_id(snap.workflow_id, store)
        origin = snap.meta.get("origin")
        if wf is None and origin:  # not in the notebook: where the run was started from
            try:
                wf = load_origin(origin, snap.workflow_id)
            except TargetError as exc:
                raise UsageError(
                    f"%flow resume: run '{args.run_id}' belongs to workflow "
                    f"'{snap.workflow_id}', which is not in this notebook, and {exc.message}; "
                    "define or import it first") from None
        if wf is None:
            raise UsageError(
                f"%flow resume: run '{args.run_id}' belongs to workflow '{snap.workflow_id}', "
                "which is not in this notebook; define or import it first")
        display(RunView(wf.create_run(run_id=args.run_id)))

    def _inspect(self, args: argparse.Namespace, _cell: str | None) -> None:
        from ..config import resolve_store

        snap, store = self._snapshot(args.run_id)
        # What changed since (SPEC §4b), against the notebook's definition of its workflow
        # when the notebook has it (the drawing itself needs no user code).
        changes: list[dict[str, str]] = []
        wf = self._workflow_by_id(snap.workflow_id, store)
        if wf is not None and resolve_store(wf.storage) is store:
            try:
                changes = wf.create_run(run_id=snap.run_id).changes()
            except Exception:  # the drawing does not depend on it
                changes = []
        display(HTML(inspect_html(snap, show_all=args.all, changes=changes)))

    def _inbox(self, args: argparse.Namespace, _cell: str | None) -> None:
        from .inbox import Inbox

        inbox = Inbox(workflows=self._namespace_workflows())
        if args.wf:
            inbox.workflow_filter = args.wf
        display(inbox)

    def _playground(self, args: argparse.Namespace, _cell: str | None) -> None:
        from .playground import RegistryView

        found = workflows_in(self._namespace, args.name)
        if not found:
            raise UsageError("%flow playground: no committed workflow or Registry in the "
                             "notebook's namespace yet")
        display(RegistryView(found))

    # -- lookups ------------------------------------------------------------------------------

    @property
    def _namespace(self) -> dict[str, Any]:
        assert self.shell is not None, "the %flow magics need an IPython shell"
        namespace: dict[str, Any] = self.shell.user_ns
        return namespace

    def _workflow(self, name: str, member: str | None) -> Any:
        return choose(lookup(self._namespace, name), name, member)

    def _namespace_workflows(self) -> list[Any]:
        return list(workflows_in(self._namespace).values())

    def _snapshot(self, run_id: str) -> tuple[Any, Any]:
        """The stored run ``run_id``: in the default store or any namespace workflow's."""
        from ..config import resolve_store

        stores = [resolve_store(None)]
        stores += [resolve_store(wf.storage) for wf in self._namespace_workflows()]
        for store in stores:
            if store is None:
                continue
            snap = store.load(run_id)
            if snap is not None:
                return snap, store
        raise UsageError(f"%flow: no stored run '{run_id}' (looked in the default store and "
                         "the stores of the workflows in this notebook)")

    def _workflow_by_id(self, workflow_id: str, store: Any) -> Any:
        from ..config import resolve_store

        candidates = [wf for wf in self._namespace_workflows() if wf.id == workflow_id]
        for wf in candidates:
            if resolve_store(wf.storage) is store:
                return wf
        return candidates[0] if candidates else None


def _json_of(command: str, what: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"%flow {command}: {what} is not valid JSON: {exc.msg} "
                         f"(line {exc.lineno}, column {exc.colno})") from None


def _input_of(wf: Any, command: str, cell: str | None, given: str | None) -> Any:
    """The workflow input of ``%flow run``/``plan`` (``--input`` or the cell body), valid
    for ``wf``, else a one-line ``UsageError``."""
    if cell is not None and given is not None:
        raise UsageError(f"%%flow {command}: give the input in the cell body or --input, "
                         "not both")
    text = cell if cell is not None else given
    data = None
    if text is not None and text.strip():
        data = _json_of(command, "the input", text)
    try:
        validate(wf.input_schema, data)
    except ValidationError as exc:
        errors = describe_field_errors(field_errors_from_pydantic(exc))
        raise UsageError(f"invalid input for workflow '{wf.id}': {errors}") from None
    return data


def inspect_html(snap: Any, *, show_all: bool = False,
                 changes: Sequence[Mapping[str, Any]] = ()) -> str:
    """A stored run drawn from its snapshot alone (no user code): graph, steps, outcome,
    each suspension with its answer, events (a long foreach's folded unless ``show_all``).
    Every cell is left-aligned (JupyterLab right-aligns table cells that do not say).
    ``changes`` (``run.changes()``) shows as a notice under the header; a fork says what
    it is a fork of."""
    from ..render.model import RunModeler
    from ..render.svg import workflow_svg

    model = RunModeler(snap.graph).of_snapshot(snap)
    try:
        graph = _html.themed_graph(workflow_svg(snap.graph, model.statuses))
    except RuntimeError as exc:
        graph = f"<i>{escape_html(str(exc))}</i>"
    meta = snap.meta
    outcome = _html.result_block(snap.status, meta.get("result"), meta.get("error"),
                                 meta.get("suspended_paths") or [])
    answers = _html.suspension_table(snap.steps, show_all=show_all)
    if answers:
        answers = f'<div style="margin-top:8px"><b>suspensions</b>{answers}</div>'
    timeline = _html.timeline_table(snap.steps, snap.created_at, show_all=show_all)
    parent, at = meta.get("parent_run_id"), meta.get("forked_at")
    fork = ""
    if isinstance(parent, str):
        label = _html.fork_label(parent, at if isinstance(at, str) else None)
        fork = f' <span class="flownb-fork-of">⑂ {escape_html(label)}</span>'
    return (f'<div class="flownb-inspect" style="text-align:left">'
            f"{_html.run_title(snap.workflow_id, snap.run_id)}"
            f' {_html.badge(snap.status)}{fork}{_html.changes_notice(changes)}'
            f"{_html.beside(graph, _html.step_table(model.rows) + outcome)}"
            f'{answers}<div style="margin-top:8px"><b>events</b>{timeline}</div></div>')


def register(ipython: Any) -> None:
    """Register the ``%flow`` magics with ``ipython``."""
    ipython.register_magics(FlowMagics)
