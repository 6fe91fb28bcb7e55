"""``ResumeForm`` and ``InputForm``: a person answers a suspended step, or starts a run.

Both are built by :mod:`flownb.notebook.fields` from a pydantic schema, validate with
pydantic on submit, show each error next to its field and keep what was typed.

>>> form = ResumeForm(run)                              # doctest: +SKIP
>>> form.fields["approved"].value = True                # doctest: +SKIP
>>> result = await form.submit()                        # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from pydantic import ValidationError

from .._text import escape_html
from ..core.schema import to_jsonable, validate
from ..errors import (
    FieldError,
    InputValidationError,
    ResumeValidationError,
    field_errors_from_pydantic,
)
from ._tasks import spawn
from ._widgets import close_tree
from .fields import Field, FieldInputError, ModelField, build_fields, error_html

if TYPE_CHECKING:
    from ..core.results import WorkflowResult
    from ..core.run import Run
    from ..core.workflow import Workflow
    from .view import RunView

__all__ = ["InputForm", "ResumeForm"]

_OK_STYLE = "color:#188038"


class _SchemaForm(widgets.VBox):  # type: ignore[misc]
    """What both forms share: fields from a schema, values, errors shown in place."""

    def close(self) -> None:
        """Close the form and every widget in it."""
        self.root.close()  # its fields, shown or not (an error line may be hidden)
        close_tree(self)
        super().close()

    def _setup_fields(self, schema: Any, title: str) -> None:
        self.schema = schema
        self.root: Field = build_fields(schema, title=title)
        self.errors: dict[str, str] = {}
        self.message = widgets.HTML(value="")
        self.message.add_class("flownb-form-message")
        self.fields_box = widgets.VBox([self.root.box])

    @property
    def fields(self) -> dict[str, widgets.Widget]:
        """Field path (``"reviewer.name"``, ``"tags.0"``) → the widget to type into."""
        return self.root.inputs()

    def values(self) -> Any:
        """The typed values, shaped as the schema expects (not validated yet)."""
        return self.root.read()

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
        self.message.value = error_html(summary + (": " + "; ".join(unplaced)
                                                   if unplaced else ""))

    def clear_errors(self) -> None:
        self.errors = {}
        for field in self.root.walk():
            field.show_error(None)
        self.message.value = ""

    def _read_or_show(self) -> tuple[bool, Any]:
        """``(True, values)``, or ``(False, None)`` with the unreadable field marked."""
        try:
            return True, self.values()
        except FieldInputError as exc:
            self.show_errors([{"field": exc.path or "(root)", "message": exc.message,
                               "type": "json_invalid"}])
            return False, None

    def _say(self, text: str, *, ok: bool = True) -> None:
        self.message.value = (f'<span style="{_OK_STYLE}">{escape_html(text)}</span>' if ok
                              else error_html(text))


class ResumeForm(_SchemaForm):
    """A form for the resume data of a suspended step, generated from its ``resume_schema``.

    ``step`` names the suspended step as ``run.resume(step=...)`` does; left out with several
    steps suspended, the form shows a selector. Next to the fields it shows the step's
    suspend payload. ``await form.submit()`` validates and resumes, returning the
    ``WorkflowResult``; on invalid data it returns ``None`` with ``form.errors`` (field path →
    message) shown inline, and the run stays suspended.
    """

    def __init__(self, run: Run, step: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("flownb-resume-form")
        self.run = run
        self.result: WorkflowResult | None = None
        self.selector: widgets.Dropdown | None = None
        self.button = widgets.Button(description="Submit", button_style="primary",
                                     icon="play")
        self.button.add_class("flownb-submit")
        self.button.on_click(lambda _b: spawn(self._submit_clicked()))
        if step is None and len(run.suspended) > 1:
            paths = [".".join(p) for p in run.suspended]
            self.selector = widgets.Dropdown(options=paths, value=paths[0],
                                             description="step")
            self.selector.observe(lambda change: self._show_step(change["new"]), names="value")
            step = paths[0]
        self._show_step(step)

    def _show_step(self, step: Any) -> None:
        self.step_path, target = self.run.suspended_step(step)
        schema = getattr(target, "resume_schema", None)
        self._setup_fields(schema if schema is not None else Any, "resume data")
        result = self.run.steps.get(self.step_path)
        payload = result.suspend_payload if result is not None else None
        heading = widgets.HTML(value=(
            f"<b>{escape_html(self.step_path)}</b> is waiting for an answer"
            f' <span style="color:#5f6368">(run {escape_html(self.run.run_id)})</span>'))
        side = widgets.HTML(value=_payload_html(payload))
        side.add_class("flownb-suspend-payload")
        top: list[widgets.Widget] = [heading]
        if self.selector is not None:
            top.append(self.selector)
        self.children = [*top, widgets.HBox([self.fields_box, side]),
                         widgets.HBox([self.button, self.message])]

    async def submit(self) -> WorkflowResult | None:
        """Validate the values and resume the run with them.

        Returns the ``WorkflowResult`` of the resumed run, or ``None`` when a value is invalid
        (then ``form.errors`` says which, and the run is still suspended). Other problems
        (the run is no longer suspended, another process holds it) raise.
        """
        ok, values = self._read_or_show()
        if not ok:
            return None
        try:
            result = await self.run.resume(values, step=self.step_path)
        except ResumeValidationError as exc:
            self.show_errors(exc.field_errors)
            return None
        self.clear_errors()
        self.result = result
        self.button.disabled = True
        self._say(f"resumed; the run is {result.status}")
        return result

    async def _submit_clicked(self) -> None:
        self.button.disabled = True
        try:
            result = await self.submit()
        except Exception as exc:  # shown where the person clicked, not lost in a log
            self._say(str(exc), ok=False)
            self.button.disabled = False
            return
        if result is None:
            self.button.disabled = False


class InputForm(_SchemaForm):
    """A form for a workflow's ``input_schema`` with a Run button.

    ``heading=False`` leaves out the workflow's id and description (when the page around the
    form shows them). ``await form.submit()`` validates the values (errors inline, values
    kept), starts a run,
    shows its live ``RunView`` below the form (``form.view``) and returns the run's
    ``WorkflowResult``; on invalid input it returns ``None`` and fills ``form.errors``.
    """

    def __init__(self, workflow: Workflow, *, heading: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("flownb-input-form")
        self.workflow = workflow
        self.view: RunView | None = None
        self.result: WorkflowResult | None = None
        self._setup_fields(workflow.input_schema, "input")
        self.button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.button.add_class("flownb-submit")
        self.button.on_click(lambda _b: spawn(self._submit_clicked()))
        self.output = widgets.VBox([])
        html_heading = f"<b>{escape_html(workflow.id)}</b>"
        if workflow.description:
            html_heading += (f' <span style="color:#5f6368">'
                             f"{escape_html(workflow.description)}</span>")
        title = [widgets.HTML(value=html_heading)] if heading else []
        self.children = [*title, self.fields_box, widgets.HBox([self.button, self.message]),
                         self.output]

    async def submit(self) -> WorkflowResult | None:
        """Validate the input, start a run with a live view below the form, return its
        result (``None`` with ``form.errors`` filled when the input is invalid)."""
        from .view import RunView

        ok, values = self._read_or_show()
        if not ok:
            return None
        try:
            validate(self.workflow.input_schema, values)
        except ValidationError as exc:
            self.show_errors(field_errors_from_pydantic(exc))
            return None
        self.clear_errors()
        run = self.workflow.create_run()
        self.view = RunView(run)
        self.output.children = [self.view]
        self._say(f"started run {run.run_id}")
        try:
            self.result = await run.start(values)
        except InputValidationError as exc:  # a validator that depends on something else
            self.output.children = []
            self.show_errors(exc.field_errors)
            return None
        self._say(f"run {run.run_id} is {self.result.status}", ok=self.result.status in (
            "success", "suspended"))
        return self.result

    async def _submit_clicked(self) -> None:
        self.button.disabled = True
        try:
            await self.submit()
        except Exception as exc:
            self._say(str(exc), ok=False)
        finally:
            self.button.disabled = False


def _payload_html(payload: Any) -> str:
    if payload is None:
        return ""
    if isinstance(payload, Mapping) and len(payload) == 1 and isinstance(
            next(iter(payload.values())), str):
        key, text = next(iter(payload.items()))
        body = f"<b>{escape_html(str(key))}</b>: {escape_html(text)}"
    else:
        body = "<pre style=\"margin:0\">" + escape_html(
            json.dumps(to_jsonable(payload), indent=2, default=str)) + "</pre>"
    return ('<div style="border-left:3px solid #e37400;padding:4px 8px;margin-left:16px;'
            f'max-width:420px;background:#fef7e0">{body}</div>')
