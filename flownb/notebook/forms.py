"""``ResumeForm`` and ``InputForm``: a person answers a suspended step, or starts a run.

Both are built by :mod:`flownb.notebook.fields` from a pydantic schema: required fields
start empty and marked, nothing shows a value its own constraints refuse. Submit validates
with pydantic, shows each error next to its field ("Field required" for an empty required
one) and keeps what was typed. An answered resume form becomes a read-only card: "answered
at HH:MM:SS" and the values.

Each form is one anywidget widget: the field tree, the values as typed and the errors are
JSON traits that ``static/forms.js`` (with ``forms.css``, shipped in the package) draws; what
a person does comes back as messages. ``form.fields[path]`` is a plain Python field
(:mod:`flownb.notebook._inputs`) whose ``.value`` setter shows the value in the page.

>>> form = ResumeForm(run)                              # doctest: +SKIP
>>> form.fields["approved"].value = True                # doctest: +SKIP
>>> result = await form.submit()                        # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import traitlets as t
from ipywidgets.widgets.trait_types import TypedTuple
from pydantic import ValidationError

from .._text import escape_html
from ..core.events import WORKFLOW_FINISH, Event
from ..core.schema import to_jsonable, validate
from ..errors import (
    FieldError,
    InputValidationError,
    ResumeValidationError,
    field_errors_from_pydantic,
)
from ..render.jsontext import json_text
from ._static import FlownbWidget
from ._tasks import spawn
from ._widgets import close_tree
from .fields import (
    EMPTY,
    Field,
    FieldInputError,
    ListField,
    ModelField,
    OptionalField,
    ScalarField,
    build_fields,
)

if TYPE_CHECKING:
    from ..core.feed import RunFeed
    from ..core.results import WorkflowResult
    from ..core.run import Run
    from ..core.workflow import Workflow
    from .view import RunView

__all__ = ["EditInputForm", "ForkForm", "InputForm", "ResumeForm", "answered_card_html"]

_OK_STYLE = "color:var(--jp-success-color1,#188038)"
_MUTED = "color:var(--jp-ui-font-color2,#5f6368)"
_REQUIRED = "Field required"

Heading = list[list[str]]
"""A heading as ``[style, text]`` parts (style ``"b"``, ``"code"``, ``"muted"`` or ``""``):
the browser writes each text as text, so nothing in it is ever read as markup."""


def _now() -> _dt.datetime:
    """The clock an answer is stamped with (tests patch it)."""
    return _dt.datetime.now()


class Button:
    """A form's submit button as Python sees it: ``description``, ``disabled`` (the
    browser's button follows it) and ``click()``, which does what a click in the page does."""

    def __init__(self, form: _SchemaForm) -> None:
        self._form = form

    @property
    def description(self) -> str:
        return self._form.submit_label

    @property
    def disabled(self) -> bool:
        return bool(self._form.disabled)

    @disabled.setter
    def disabled(self, value: bool) -> None:
        self._form.disabled = bool(value)

    def click(self) -> None:
        """Submit as the page's button does: in the background on a running loop (a
        kernel), to the end without one."""
        if not self._form.disabled and not self._form.closed:
            spawn(self._form._submit_clicked())


class _SchemaForm(FlownbWidget):
    """What every form shares: one anywidget widget drawn by ``static/forms.js`` from the
    JSON of its field tree; values, errors shown in place, and how the form shows itself
    when displayed again (the widget while open, else HTML).

    The browser sends what a person does as messages (``{"event": "edit", "path": ...,
    "value": ...}``, ``"toggle"``, ``"add"``, ``"remove"``, ``"load_json"``, ``"submit"``,
    ``"dismiss"``, ``"step"``); the kernel applies them to the fields and sends back the
    traits below.
    """

    _bundle = "forms"

    tree = t.Dict().tag(sync=True)
    """The field tree (:meth:`Field.spec`): kinds, paths, titles, hints, options."""
    typed = t.Dict().tag(sync=True)
    """Field path → what its input shows (text as typed, an option's index, a bool)."""
    optional_set = t.Dict().tag(sync=True)
    """Path of each ``X | None`` field → whether a value is set."""
    field_errors = t.Dict().tag(sync=True)
    """Field path → the error shown next to it (what ``errors`` holds, placed on the
    closest field shown)."""
    message = t.Unicode("").tag(sync=True)
    """The line beside the button ("2 fields to fix", "resuming…", a run's status)."""
    message_ok = t.Bool(True).tag(sync=True)
    """Whether ``message`` is good news (else it shows as an error)."""
    heading = t.List(t.List(t.Unicode())).tag(sync=True)
    """The heading above the fields, as ``[style, text]`` parts (see ``Heading``)."""
    payload = t.Dict().tag(sync=True)
    """What the suspended step asked (``{"key", "text"}`` or ``{"json"}``; ``{}``: nothing),
    beside the fields."""
    submit_label = t.Unicode("Submit").tag(sync=True)
    dismissable = t.Bool(False).tag(sync=True)
    """Whether the form has a Close button (the forms a live view opens on request)."""
    disabled = t.Bool(False).tag(sync=True)
    """The submit button is disabled (while submitting, and once answered)."""
    card = t.Unicode("").tag(sync=True)
    """The read-only card the form became (:func:`answered_card_html`; every user string in
    it escaped); ``""`` while it is a form."""
    steps = t.List(t.Unicode()).tag(sync=True)
    """The suspended steps to pick from (a selector shows when there are several)."""
    step = t.Unicode("").tag(sync=True)
    """The step picked."""
    children = TypedTuple(trait=t.Instance(widgets.Widget)).tag(
        sync=True, **widgets.widget_serialization)
    """Widgets shown below the form: ``form.output`` (a run's live view) where there is one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.button = Button(self)
        self.on_msg(self._on_message)

    def close(self) -> None:
        """Close the form and the widgets below it (a run view it started)."""
        close_tree(self)
        super().close()
        # ipywidgets blanks a closed widget's display (an instance attribute set to None);
        # a closed form still shows what it was (see _repr_mimebundle_).
        self.__dict__.pop("_repr_mimebundle_", None)

    @property
    def closed(self) -> bool:
        """Whether the form was closed (it then displays as static HTML)."""
        return self.comm is None

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        static = self._static_html()
        if self.closed:
            return {"text/plain": repr(self), "text/html": static}
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, meta = bundle
        data["text/plain"] = repr(self)
        if static:  # where widgets do not render (a saved notebook on GitHub), the card
            data["text/html"] = static
        return data, meta

    def _static_html(self) -> str:
        """What the form shows without its widget ("" when only the widget will do)."""
        return ""

    def _setup_fields(self, schema: Any, title: str) -> None:
        self.schema = schema
        self.root: Field = build_fields(schema, title=title)
        self.root.listener = self._fields_changed
        self.errors: dict[str, str] = {}
        self._fields_changed(True)

    def _fields_changed(self, structure: bool) -> None:
        """Send the fields to the browser: the tree when fields came or went, the values and
        errors always (small: one entry per input)."""
        typed: dict[str, Any] = {}
        flags: dict[str, bool] = {}
        self.root.state(typed, flags)
        errors = {f.path: f.error for f in self.root.walk() if f.error}
        with self.hold_sync():
            if structure:
                self.tree = self.root.spec()
            self.typed, self.optional_set, self.field_errors = typed, flags, errors

    @property
    def fields(self) -> dict[str, Field]:
        """Field path (``"reviewer.name"``, ``"tags.0"``) → its input: ``.value`` is what it
        shows (set it to type), ``.kind`` what input it is; a list's has ``add`` and
        ``remove``, a choice's ``options``."""
        return self.root.inputs()

    def values(self) -> Any:
        """The typed values, shaped as the schema expects (not validated yet). Empty fields
        are left out of a model's values (pydantic fills in defaults, or says "Field
        required"); an empty single-value form gives ``None``."""
        value = self.root.read()
        return None if value is EMPTY else value

    def missing(self) -> list[str]:
        """Paths of the required fields still empty."""
        return self.root.missing()

    # -- what the browser sends ---------------------------------------------------------------

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or self.closed:
            return
        event, path = content.get("event"), content.get("path")
        if event == "submit":
            self.button.click()
        elif event == "dismiss":
            self._dismiss_clicked()
        elif event == "step" and isinstance(content.get("value"), str):
            if content["value"] in self.steps:
                self.step = content["value"]
        elif self.card or not isinstance(path, str):
            return  # answered: read-only
        elif event == "toggle":
            for field in self.root.walk():
                if isinstance(field, OptionalField) and field.path == path:
                    field.is_set = bool(content.get("value"))
                    break
        else:
            self._edit(event, self.fields.get(path), content)

    def _edit(self, event: Any, field: Field | None, content: Mapping[str, Any]) -> None:
        if event == "edit" and isinstance(field, ScalarField):
            field.set_raw(content.get("value"))
        elif isinstance(field, ListField):
            index = content.get("index")
            if event == "add":
                field.add()
            elif event == "remove" and isinstance(index, int) and 0 <= index < field.rows:
                field.remove(index)
            elif event == "load_json" and isinstance(content.get("text"), str):
                field.load_json(content["text"])

    def _dismiss_clicked(self) -> None:
        """The Close button (only the forms that have one)."""

    # What submitting does: resume the step, start a run, fork, continue the paused step.
    submit: Callable[[], Awaitable[WorkflowResult | None]]
    # Whether it takes another submit after one that went through (an input form starts run
    # after run); the others become a card.
    _again = False

    @property
    def done(self) -> bool:
        """Whether a submit went through (the form shows its card then)."""
        return False

    async def _submit_clicked(self) -> None:
        """The Submit button: submit; an error is shown where the person clicked (not lost
        in a log), and the button is pressed again only while there is something to fix."""
        self.disabled = True
        try:
            result = await self.submit()
        except Exception as exc:
            self._say(str(exc), ok=False)
            self.disabled = False
            return
        if self._again or (result is None and not self.done):
            self.disabled = False

    # -- errors ---------------------------------------------------------------------------------

    def show_errors(self, errors: Sequence[FieldError]) -> None:
        """Put each error next to its field (or the closest enclosing one); keep the values."""
        self.errors = {}
        for err in errors:
            path = "" if err["field"] == "(root)" else err["field"]
            message = err["message"]
            self.errors[path] = (f"{self.errors[path]}; {message}" if path in self.errors
                                 else message)
        by_path = {f.path: f for f in self.root.walk()}
        if isinstance(self.root, ModelField):
            del by_path[""]  # a model's own errors go to the form's message line
        placed: dict[str, list[str]] = {}
        unplaced: list[str] = []
        for path, message in self.errors.items():
            target = path
            while target and target not in by_path:
                target = target.rpartition(".")[0]
            if target not in by_path:
                unplaced.append(f"{path}: {message}" if path else message)
                continue
            rest = path[len(target):].lstrip(".")
            placed.setdefault(target, []).append(f"{rest}: {message}" if rest else message)
        for field in by_path.values():
            field.show_error("; ".join(placed[field.path]) if field.path in placed else None)
        count = len(self.errors)
        summary = f"{count} field{'s' if count != 1 else ''} to fix"
        self._fields_changed(False)
        self._say(summary + (": " + "; ".join(unplaced) if unplaced else ""), ok=False)

    def clear_errors(self) -> None:
        self.errors = {}
        for field in self.root.walk():
            field.show_error(None)
        self._fields_changed(False)
        self.message = ""

    def _check(self) -> tuple[bool, Any, Any]:
        """``(True, values, validated)``, or ``(False, None, None)`` with every problem shown
        next to its field: unreadable JSON first, then pydantic's errors, each empty required
        field's said as "Field required" (an empty row of a list, sent as ``None``, would
        otherwise read "Input should be a valid integer")."""
        try:
            values = self.values()
        except FieldInputError as exc:
            self.show_errors([{"field": exc.path or "(root)", "message": exc.message,
                               "type": "json_invalid"}])
            return False, None, None
        errors: list[FieldError] = []
        validated = None
        try:
            validated = validate(self.schema, values)
        except ValidationError as exc:
            errors = field_errors_from_pydantic(exc)
        missing = {path or "(root)" for path in self.missing()}
        if missing:
            kept = [e for e in errors if e["field"] not in missing]
            errors = [*({"field": path, "message": _REQUIRED, "type": "missing"}
                        for path in missing), *kept]
            errors.sort(key=lambda e: self._order(e["field"]))
        if errors:
            self.show_errors(errors)
            return False, None, None
        return True, values, validated

    def prefill(self, value: Any) -> None:
        """Show ``value`` (a recorded input, say) in the fields, except the parts the
        schema's current constraints reject: those fields stay empty (a required one is
        marked and says "Field required" on submit), as a default that breaks its own
        constraints does."""
        if value is None:
            return
        self.root.write(to_jsonable(value))
        try:
            validate(self.schema, self.values())
            return
        except FieldInputError:
            return
        except ValidationError as exc:
            errors = field_errors_from_pydantic(exc)
        by_path = {f.path: f for f in self.root.walk()}
        for err in errors:
            if err["type"] == "missing":
                continue  # nothing was filled in there anyway
            target = "" if err["field"] == "(root)" else err["field"]
            while target and target not in by_path:
                target = target.rpartition(".")[0]
            field = by_path.get(target)
            if field is None or isinstance(field, ModelField):
                continue  # a model's own rule: no one field to empty
            field.write([] if isinstance(field, ListField) else None)

    def _order(self, path: str) -> int:
        for i, field in enumerate(self.root.walk()):
            if (field.path or "(root)") == path:
                return i
        return 1 << 30

    def _say(self, text: str, *, ok: bool = True) -> None:
        with self.hold_sync():
            self.message, self.message_ok = text, ok


class ResumeForm(_SchemaForm):
    """A form for the resume data of a suspended step, generated from its ``resume_schema``.

    ``step`` names the suspended step as ``run.resume(step=...)`` does; left out with several
    steps suspended, the form shows a selector (``form.selector``). Next to the fields it
    shows the step's suspend payload. ``await form.submit()`` validates and resumes,
    returning the ``WorkflowResult``; on invalid data (an empty required field is "Field
    required") it returns ``None`` with ``form.errors`` (field path → message) shown inline,
    what was typed kept, and the run stays suspended. Once answered, the form is a read-only
    card: the step, "answered at HH:MM:SS" (``form.answered_at``), the values
    (``form.answer``) and the run's status.
    """

    def __init__(self, run: Run, step: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("flownb-resume-form")
        self.run = run
        self.result: WorkflowResult | None = None
        self.answered_at: _dt.datetime | None = None
        self.answer: Any = None
        if step is None and len(run.suspended) > 1:
            self.steps = [".".join(p) for p in run.suspended]
            step = self.steps[0]
        self._show_step(step)
        self.observe(lambda change: self._show_step(change["new"]), names="step")

    @property
    def selector(self) -> _Selector | None:
        """The step picker when several steps wait (``None`` otherwise): ``options`` and
        ``value``, which picks the step whose form shows."""
        return _Selector(self) if len(self.steps) > 1 else None

    def _show_step(self, step: Any) -> None:
        self.step_path, target = self.run.suspended_step(step)
        with self.hold_sync():
            schema = getattr(target, "resume_schema", None)
            self._setup_fields(schema if schema is not None else Any, "resume data")
            self.message = ""
            self.step = self.step_path
            result = self.run.steps.get(self.step_path)
            self.payload = _payload_spec(result.suspend_payload if result is not None
                                         else None)
            self.heading = [["b", self.step_path], ["", " is waiting for an answer "],
                            ["muted", f"(run {self.run.run_id})"]]

    @property
    def answered(self) -> bool:
        """Whether this form resumed its step (it shows the answered card then)."""
        return self.answered_at is not None

    done = answered

    async def submit(self) -> WorkflowResult | None:
        """Validate the values and resume the run with them.

        Returns the ``WorkflowResult`` of the resumed run, or ``None`` when a value is invalid
        or a required one missing (then ``form.errors`` says which, and the run is still
        suspended). Other problems (the run is no longer suspended, another process holds
        it) raise.
        """
        ok, values, validated = self._check()
        if not ok:
            return None
        answered_at = _now()  # when the person answered, not when the run got to its end
        self._say("resuming…")
        try:
            result = await self.run.resume(values, step=self.step_path)
        except ResumeValidationError as exc:
            self.show_errors(exc.field_errors)
            return None
        except BaseException:
            self.message = ""
            raise
        self.clear_errors()
        self.result = result
        self.answered_at = answered_at
        self.answer = to_jsonable(validated)
        with self.hold_sync():
            self.disabled = True
            self.card = self._static_html()  # the inputs give way to the read-only card
        return result

    def _static_html(self) -> str:
        if self.answered_at is None or self.result is None:
            if not self.closed:
                return ""
            return (f'<div class="flownb-resume-form-closed" style="{_MUTED}">the form for '
                    f"<b>{escape_html(self.step_path)}</b> (run "
                    f"{escape_html(self.run.run_id)}) was closed unanswered; "
                    "<code>ResumeForm(run)</code> makes a new one</div>")
        return answered_card_html(self.step_path, self.run.run_id, self.answered_at,
                                  self.answer, self.result.status)

    def __repr__(self) -> str:
        state = (f"answered at {self.answered_at:%H:%M:%S}" if self.answered_at is not None
                 else "closed" if self.closed else "waiting")
        return f"ResumeForm(step={self.step_path!r}, run={self.run.run_id!r}, {state})"


class _Selector:
    """A resume form's step picker as Python sees it (``options``, ``value``)."""

    def __init__(self, form: ResumeForm) -> None:
        self._form = form

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(self._form.steps)

    @property
    def value(self) -> str:
        return self._form.step

    @value.setter
    def value(self, step: str) -> None:
        if step not in self._form.steps:
            raise ValueError(f"{step!r} is not one of the waiting steps "
                             f"({', '.join(self._form.steps)})")
        self._form.step = step


class InputForm(_SchemaForm):
    """A form for a workflow's ``input_schema`` with a Run button.

    ``heading=False`` leaves out the workflow's id and description (when the page around the
    form shows them). Required fields start empty and marked. ``await form.submit()``
    validates the values (errors inline, "Field required" for an empty required field,
    values kept), starts a run, shows its live ``RunView`` below the form (``form.view``, in
    ``form.output``) and returns the run's ``WorkflowResult``; on invalid input it returns
    ``None``, fills ``form.errors`` and starts nothing. The form stays, to start the next run.
    """

    _again = True

    def __init__(self, workflow: Workflow, *, heading: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("flownb-input-form")
        self.workflow = workflow
        self.view: RunView | None = None
        self.result: WorkflowResult | None = None
        self._feed: RunFeed | None = None  # follows a suspended run, for the status line
        self._setup_fields(workflow.input_schema, "input")
        self.submit_label = "Run"
        self.output = widgets.VBox([])
        self.children = (self.output,)
        if heading:
            parts = [["b", workflow.id]]
            if workflow.description:
                parts.append(["muted", f" {workflow.description}"])
            self.heading = parts

    async def submit(self) -> WorkflowResult | None:
        """Validate the input, start a run with a live view below the form, return its
        result (``None`` with ``form.errors`` filled when the input is invalid)."""
        from .view import RunView

        ok, values, _validated = self._check()
        if not ok:
            return None
        self.clear_errors()
        run = self.workflow.create_run()
        if self._feed is not None:  # the last run's status line gives way to this one's
            self._feed.close()
            self._feed = None
        previous = self.view
        if previous is not None and previous in self.output.children:
            previous.close()  # the last run's view, still shown here (not taken elsewhere)
        self.view = RunView(run)
        self.output.children = [self.view]
        self._say(f"started run {run.run_id}")
        try:
            self.result = await run.start(values)
        except InputValidationError as exc:  # a validator that depends on something else
            self.output.children = []
            self.show_errors(exc.field_errors)
            return None
        self._say_status(run.run_id, self.result.status)
        if self.result.status == "suspended":  # it goes on when answered: say how it ends
            self._feed = run.feed(self._run_changed, interval=1.0, keep=1)
        return self.result

    def _say_status(self, run_id: str, status: str) -> None:
        self._say(f"run {run_id} {_ENDED.get(status, f'has status {status}')}",
                  ok=status in ("success", "suspended"))

    def _run_changed(self, event: Event | None) -> None:
        if event is None or event.type != WORKFLOW_FINISH or self.closed:
            return
        status = str(event.payload.get("status"))
        self._say_status(event.run_id, status)
        if status != "suspended" and self._feed is not None:
            self._feed.close()
            self._feed = None

    def close(self) -> None:
        if self._feed is not None:
            self._feed.close()
            self._feed = None
        super().close()

    def _static_html(self) -> str:
        if not self.closed:
            return ""
        return (f'<div class="flownb-input-form-closed" style="{_MUTED}">the input form of '
                f"<b>{escape_html(self.workflow.id)}</b> was closed</div>")

    def __repr__(self) -> str:
        return f"InputForm(workflow={self.workflow.id!r}{', closed' if self.closed else ''})"



class _StepInputForm(_SchemaForm):
    """A form for the input of one step of ``run`` (its ``input_schema``), pre-filled with
    ``recorded`` (what the step got, or was about to get) as far as the schema's current
    constraints accept it; once submitted, a read-only card."""

    _verb = "submitted"

    def __init__(self, run: Run, step: str, recorded: Any, *, heading: Heading,
                 button: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from ..core.keys import strip_items

        self.run = run
        self.step_path = step
        self.submitted_at: _dt.datetime | None = None
        self.submitting = False  # between a valid submit and its outcome
        self.answer: Any = None
        self.on_dismiss: Callable[[_StepInputForm], None] | None = None
        target = run.workflow.steps.get(strip_items(step))
        schema = getattr(target, "input_schema", None)
        self._setup_fields(schema if schema is not None else Any, "input")
        self.prefill(recorded)
        self.output = widgets.VBox([])
        with self.hold_sync():
            self.heading = heading
            self.submit_label = button
            self.dismissable = True
            self.children = (self.output,)

    @property
    def submitted(self) -> bool:
        """Whether this form was submitted (it shows its card then)."""
        return self.submitted_at is not None

    done = submitted

    def dismiss(self) -> None:
        """Close the form unsubmitted (the Close button); the view showing it lets it go."""
        callback, self.on_dismiss = self.on_dismiss, None
        if callback is not None:
            callback(self)
        self.close()

    def _dismiss_clicked(self) -> None:
        if not self.submitted:
            self.dismiss()

    def _accepted(self, validated: Any, status: str) -> None:
        """The submit went through: stamp it, and show the card instead of the inputs."""
        self.clear_errors()
        self.submitted_at = _now()
        self.answer = to_jsonable(validated)
        with self.hold_sync():
            self.disabled = True
            self.dismissable = False
            self.card = self._card(status)

    def _card(self, status: str) -> str:
        assert self.submitted_at is not None
        return answered_card_html(self.step_path, self.run.run_id, self.submitted_at,
                                  self.answer, status, verb=self._verb)



class ForkForm(_StepInputForm):
    """Fork from here (SPEC §3d): a form for the input of step ``step`` of ``run`` (a step
    that ran), pre-filled with the input it recorded.

    ``await form.submit()`` validates the values (errors inline, nothing stored when one is
    invalid: it returns ``None``), then ``run.fork(step, input_data=values)`` makes the fork
    (``form.fork``), its live view shows below the form (``form.view``: the original run's
    view stays as it is) and the fork runs; returns the fork's ``WorkflowResult``. The
    submitted form becomes a card: the step, "forked at HH:MM:SS" and the values.
    """

    _verb = "forked"

    def __init__(self, run: Run, step: str, **kwargs: Any) -> None:
        result = run.steps.get(step)
        recorded = result.payload if result is not None else None
        heading = [["", "Fork run "], ["code", run.run_id], ["", " from "], ["b", step],
                   ["muted", " a new run: what ran before this step is copied, this step "
                    "runs again with the input below, the steps after it with the current "
                    "definition; this run stays as it is"]]
        super().__init__(run, step, recorded, heading=heading, button="Fork and run",
                         **kwargs)
        self.add_class("flownb-fork-form")
        self.fork: Run | None = None
        self.view: RunView | None = None
        self.result: WorkflowResult | None = None

    async def submit(self) -> WorkflowResult | None:
        """Validate, fork, show the fork's view below and run it; its result, or ``None``
        (``form.errors`` filled, nothing stored) when the input is invalid."""
        from .view import RunView

        if self.fork is not None:
            return self.result  # forked already: this form is its card now
        ok, values, validated = self._check()
        if not ok:
            return None
        try:
            fork = self.run.fork(self.step_path, input_data=values)
        except InputValidationError as exc:
            self.show_errors(exc.field_errors)
            return None
        self.fork = fork
        self.view = RunView(fork)
        self.output.children = [self.view]
        self._accepted(validated, f"forked as run {fork.run_id}")
        self.result = await fork.start()
        return self.result

    def _card(self, status: str) -> str:
        assert self.submitted_at is not None and self.fork is not None
        return answered_card_html(self.step_path, self.run.run_id, self.submitted_at,
                                  self.answer, "", verb=self._verb, fork=self.fork.run_id)

    def _static_html(self) -> str:
        if self.submitted_at is None or self.fork is None:
            return ""
        return self._card("")

    def __repr__(self) -> str:
        state = f"forked as {self.fork.run_id}" if self.fork is not None else \
            "closed" if self.closed else "open"
        return f"ForkForm(step={self.step_path!r}, run={self.run.run_id!r}, {state})"


class EditInputForm(_StepInputForm):
    """Edit input at a breakpoint (SPEC §3d): a form for the input of step ``step``, where
    ``run`` is paused before it, pre-filled with the input it was about to get.

    ``await form.submit()`` validates the values and continues the run with them
    (``run.resume(step=step, input_data=values)``), returning the ``WorkflowResult``; on an
    invalid value it returns ``None`` with the errors inline, and the run stays paused.
    Submitted, the form is a card: "continued with edited input at HH:MM:SS" and the values.
    """

    _verb = "continued with edited input"

    def __init__(self, run: Run, step: str, **kwargs: Any) -> None:
        result = run.steps.get(step)
        payload = result.suspend_payload if result is not None else None
        recorded = payload.get("input") if isinstance(payload, Mapping) else None
        heading = [["b", step], ["", " is paused at a breakpoint "],
                   ["muted", f"(run {run.run_id}): edit its input, then continue"]]
        super().__init__(run, step, recorded, heading=heading, button="Continue", **kwargs)
        self.add_class("flownb-edit-input-form")
        self.result: WorkflowResult | None = None

    async def submit(self) -> WorkflowResult | None:
        """Validate and continue the run with the values; its result, or ``None``."""
        if self.result is not None:
            return self.result
        ok, values, validated = self._check()
        if not ok:
            return None
        self._say("continuing…")
        self.submitting = True
        try:
            result = await self.run.resume(step=self.step_path, input_data=values)
        except InputValidationError as exc:
            self.show_errors(exc.field_errors)
            return None
        except BaseException:
            self.message = ""
            raise
        finally:
            self.submitting = False
        self.result = result
        self._accepted(validated, result.status)
        return result

    def _static_html(self) -> str:
        if self.submitted_at is None or self.result is None:
            return ""
        return self._card(self.result.status)

    def __repr__(self) -> str:
        state = (f"continued at {self.submitted_at:%H:%M:%S}" if self.submitted_at is not None
                 else "closed" if self.closed else "open")
        return f"EditInputForm(step={self.step_path!r}, run={self.run.run_id!r}, {state})"


def answered_card_html(step: str, run_id: str, answered_at: _dt.datetime, answer: Any,
                       status: str, *, verb: str = "answered", fork: str | None = None,
                       ) -> str:
    """The read-only card an answered resume form becomes: the step, "answered at
    HH:MM:SS", one row per value (nested values by their dotted path), and the run's
    status. Every user string is escaped. ``verb`` replaces "answered" (an edited input:
    "continued with edited input"; a fork: "forked", with ``fork`` the fork's run id in
    place of the status).

    >>> import datetime as dt
    >>> "answered at 09:05:00" in answered_card_html(
    ...     "review", "r1", dt.datetime(2026, 1, 2, 9, 5), {"ok": True}, "success")
    True
    """
    rows = "".join(
        f'<tr><td style="{_MUTED};padding:0 12px 0 0;vertical-align:top">'
        f"{escape_html(path)}</td><td>{value}</td></tr>"
        for path, value in _answer_rows(answer))
    when = escape_html(answered_at.isoformat(timespec="seconds"))
    return (
        '<div class="flownb-answered-card" style="border-left:3px solid '
        "var(--jp-success-color1,#188038);padding:4px 8px;margin:4px 0\">"
        f'<div><span style="{_OK_STYLE}">✓</span> <b>{escape_html(step)}</b> '
        f'<span class="flownb-answered-at" title="{when}">{escape_html(verb)} at '
        f"{answered_at:%H:%M:%S}</span>"
        f' <span style="{_MUTED}">· {_card_outcome(run_id, status, fork)}</span></div>'
        f'<table class="flownb-answer" style="font-size:12px;margin-top:2px">{rows}</table>'
        "</div>")


# What a run did, as a form says it once the run stops: "run 01a2… succeeded".
_ENDED = {"success": "succeeded", "failed": "failed", "canceled": "was canceled",
          "suspended": "is suspended: it waits for an answer"}
# What a run did after an answer, on the answered card.
_THEN = {"success": "then succeeded", "failed": "then failed", "canceled": "was then canceled",
         "suspended": "waits for another answer", "running": "is running on"}


def _card_outcome(run_id: str, status: str, fork: str | None) -> str:
    if fork is not None:
        return f"run {escape_html(run_id)} → fork <code>{escape_html(fork)}</code>"
    return f"run {escape_html(run_id)} {escape_html(_THEN.get(status, f'has status {status}'))}"


def _answer_rows(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(dotted path, escaped HTML of the value) for each leaf worth a row."""
    if isinstance(value, Mapping) and value:
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows.extend(_answer_rows(item, f"{path}.{key}" if path else str(key)))
        return rows
    if value is None:
        shown = f'<span style="{_MUTED}">—</span>'
    elif isinstance(value, str):
        shown = escape_html(_cut(value))
    else:
        shown = f"<code>{escape_html(_cut(json.dumps(value, default=str)))}</code>"
    return [(path or "value", shown)]


def _cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _payload_spec(payload: Any) -> dict[str, Any]:
    """What the suspended step asked, as the browser shows it (as text): one string under
    one key as ``{"key", "text"}``, anything else as indented ``{"json"}``; ``{}`` for
    nothing."""
    if payload is None:
        return {}
    if isinstance(payload, Mapping) and len(payload) == 1 and isinstance(
            next(iter(payload.values())), str):
        key, text = next(iter(payload.items()))
        return {"key": str(key), "text": text}
    return {"json": json_text(payload)}
