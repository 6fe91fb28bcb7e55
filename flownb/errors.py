"""The flownb exception tree.

Every error carries a human message (``.message``) and the context it happened in:
the workflow id, the step path and, for validation problems, the field errors.

    FlownbError
    ├── WorkflowDefinitionError
    │   └── SchemaMismatchError
    ├── InputValidationError
    ├── ResumeValidationError
    ├── ResumeError
    ├── ConcurrentRunError
    ├── RunNotFoundError
    └── StorageError
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ConcurrentRunError",
    "FieldError",
    "FlownbError",
    "InputValidationError",
    "ResumeError",
    "ResumeValidationError",
    "RunNotFoundError",
    "SchemaMismatchError",
    "StorageError",
    "WorkflowDefinitionError",
]

FieldError = dict[str, Any]
"""One validation problem: ``{"field": "a.b", "message": "...", "type": "..."}``."""


class FlownbError(Exception):
    """Base class of every error flownb raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        workflow_id: str | None = None,
        step_path: str | None = None,
        run_id: str | None = None,
        field_errors: Sequence[FieldError] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.workflow_id = workflow_id
        self.step_path = step_path
        self.run_id = run_id
        self.field_errors: list[FieldError] = list(field_errors)

    def __str__(self) -> str:
        return self.message


class WorkflowDefinitionError(FlownbError):
    """A workflow or step is built wrongly (bad id, duplicate id, edit after commit, ...).

    ``problems`` lists every problem found, so one commit reports them all at once.
    """

    def __init__(self, message: str, *, problems: Sequence[str] = (), **context: Any) -> None:
        super().__init__(message, **context)
        self.problems = list(problems)


class SchemaMismatchError(WorkflowDefinitionError):
    """An output schema does not fit the input schema it flows into."""


class InputValidationError(FlownbError):
    """The workflow's input does not match its ``input_schema``; nothing ran."""


class ResumeValidationError(FlownbError):
    """``resume_data`` does not match the step's ``resume_schema``; the run is unchanged."""


class ResumeError(FlownbError):
    """The run, or the step named, is not suspended (or the step is ambiguous)."""


class ConcurrentRunError(FlownbError):
    """Another resume or start of the same run won the race; nothing was applied."""


class RunNotFoundError(FlownbError):
    """No stored run has this id."""


class StorageError(FlownbError):
    """The store could not be read or written: a read-only, corrupt or foreign file, a full
    disk, a database locked for too long.

    ``store`` names the store (``"SQLite database '/abs/path/runs.db'"``; never a password),
    ``operation`` what it was doing (``"opening"``, ``"creating tables"``, ``"migrating"``,
    ``"inserting run 'X'"``, ``"updating run 'X'"``, ``"loading run 'X'"``,
    ``"listing runs"``, ``"deleting run 'X'"``). A failed write changed nothing: the store
    holds what it held before the call, so a run can be continued once the fault is gone.
    """

    def __init__(self, message: str, *, store: str, operation: str, **context: Any) -> None:
        super().__init__(message, **context)
        self.store = store
        self.operation = operation


def field_errors_from_pydantic(exc: Any) -> list[FieldError]:
    """Turn a ``pydantic.ValidationError`` into flownb's field-error dicts."""
    out: list[FieldError] = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in err.get("loc", ())) or "(root)"
        out.append({"field": loc, "message": err.get("msg", ""), "type": err.get("type", "")})
    return out


def describe_field_errors(errors: Sequence[FieldError]) -> str:
    """``"message: Field required; count: Input should be a valid integer"``."""
    return "; ".join(f"{e['field']}: {e['message']}" for e in errors)
