"""Steps: typed units of work with injected parameters."""

from __future__ import annotations

import copy
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, overload

from ..errors import WorkflowDefinitionError
from .keys import id_problem
from .params import STEP_PARAMS, Signature, read_signature
from .schema import Schema

__all__ = ["RetryConfig", "Step", "check_step_id", "clone_step", "create_step", "step"]


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """Re-run a failing step up to ``attempts`` more times, ``delay`` seconds apart.

    >>> RetryConfig(attempts=2, delay=0.5)   # at most 3 executions
    RetryConfig(attempts=2, delay=0.5)
    """

    attempts: int = 0
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.attempts < 0 or self.delay < 0:
            raise ValueError("RetryConfig: attempts and delay must be >= 0")


def check_step_id(step_id: object, *, what: str = "step") -> str:
    """A step (or workflow) id: a non-empty string of at most 200 characters without
    ``.``, ``[``, ``]`` or control characters (see ``flownb.core.keys``)."""
    problem = id_problem(step_id)
    if problem is not None:
        shown = step_id if isinstance(step_id, str) else None
        raise WorkflowDefinitionError(f"{what} id {step_id!r} {problem}", step_path=shown)
    assert isinstance(step_id, str)
    return step_id


class Step:
    """A typed unit of work. Build one with :func:`create_step` or :func:`step`.

    Every keyword of ``create_step`` is an attribute of the same name. A ``Step`` is still
    callable like its function: ``my_step(input_data=...)`` calls ``execute`` directly.
    """

    is_workflow = False

    def __init__(
        self,
        *,
        id: str,
        execute: Callable[..., Any],
        input_schema: Schema,
        output_schema: Schema,
        description: str | None = None,
        resume_schema: Schema | None = None,
        suspend_schema: Schema | None = None,
        retries: RetryConfig | None = None,
        timeout: float | None = None,
        cache: bool | None = None,
        effects: bool = False,
    ) -> None:
        self.id = check_step_id(id)
        self.execute = execute
        self.input_schema = input_schema
        self.output_schema = output_schema
        self.description = description
        self.resume_schema = resume_schema
        self.suspend_schema = suspend_schema
        if retries is not None and not isinstance(retries, RetryConfig):
            raise WorkflowDefinitionError(
                f"step '{id}': retries must be a RetryConfig, got {type(retries).__name__}",
                step_path=id,
            )
        self.retries = retries
        if timeout is not None and timeout <= 0:
            raise WorkflowDefinitionError(f"step '{id}': timeout must be > 0", step_path=id)
        self.timeout = timeout
        if cache is not None and not isinstance(cache, bool):
            raise WorkflowDefinitionError(
                f"step '{id}': cache must be True, False or None, got {cache!r}", step_path=id)
        # Reuse (SPEC §3d): None inherits the workflows' setting; ``effects=True`` (it sends
        # mail, writes files) is never reused whatever the settings.
        self.cache = cache
        self.effects = bool(effects)
        self.signature: Signature = read_signature(execute, STEP_PARAMS, what=f"step '{id}'")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.execute(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Step(id={self.id!r})"


def create_step(
    *,
    id: str,
    execute: Callable[..., Any],
    input_schema: Schema,
    output_schema: Schema,
    description: str | None = None,
    resume_schema: Schema | None = None,
    suspend_schema: Schema | None = None,
    retries: RetryConfig | None = None,
    timeout: float | None = None,
    cache: bool | None = None,
    effects: bool = False,
) -> Step:
    """Create a step.

    ``cache``: may a run reuse an earlier execution of this step instead of running it
    (``True``/``False``; ``None``, the default, follows the workflow and
    ``flownb.configure(cache=...)``). ``effects=True`` marks a step that does something
    besides returning its output (sends mail, writes a file): it is never reused.

    >>> from pydantic import BaseModel
    >>> class Msg(BaseModel):
    ...     message: str
    >>> upper = create_step(id="upper", input_schema=Msg, output_schema=Msg,
    ...                     execute=lambda input_data: {"message": input_data.message.upper()})
    >>> upper.id
    'upper'
    """
    return Step(
        id=id,
        execute=execute,
        input_schema=input_schema,
        output_schema=output_schema,
        description=description,
        resume_schema=resume_schema,
        suspend_schema=suspend_schema,
        retries=retries,
        timeout=timeout,
        cache=cache,
        effects=effects,
    )


@overload
def step(fn: Callable[..., Any], /) -> Step: ...
@overload
def step(
    *,
    id: str | None = None,
    input_schema: Schema | None = None,
    output_schema: Schema | None = None,
    description: str | None = None,
    resume_schema: Schema | None = None,
    suspend_schema: Schema | None = None,
    retries: RetryConfig | None = None,
    timeout: float | None = None,
    cache: bool | None = None,
    effects: bool = False,
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    id: str | None = None,
    input_schema: Schema | None = None,
    output_schema: Schema | None = None,
    description: str | None = None,
    resume_schema: Schema | None = None,
    suspend_schema: Schema | None = None,
    retries: RetryConfig | None = None,
    timeout: float | None = None,
    cache: bool | None = None,
    effects: bool = False,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Decorator form of :func:`create_step`; schemas come from the annotations.

    ``input_schema`` is the annotation of ``input_data``, ``output_schema`` the return
    annotation, ``resume_schema`` the annotation of ``resume_data`` (``X | None`` → ``X``);
    the id defaults to the function name and the description to its docstring.

    >>> @step(id="shout")
    ... async def shout(input_data: str) -> str:
    ...     return input_data.upper()
    >>> shout.input_schema, shout.output_schema
    (<class 'str'>, <class 'str'>)
    """

    def build(func: Callable[..., Any]) -> Step:
        hints = _hints(func)
        res_schema = resume_schema
        if res_schema is None and "resume_data" in hints:
            res_schema = _strip_optional(hints["resume_data"])
        return Step(
            id=id if id is not None else func.__name__,
            execute=func,
            input_schema=input_schema if input_schema is not None
            else hints.get("input_data", Any),
            output_schema=output_schema if output_schema is not None
            else hints.get("return", Any),
            description=description if description is not None
            else (inspect.getdoc(func) or None),
            resume_schema=res_schema,
            suspend_schema=suspend_schema,
            retries=retries,
            timeout=timeout,
            cache=cache,
            effects=effects,
        )

    if fn is not None:
        return build(fn)
    return build


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise WorkflowDefinitionError(
            f"step '{getattr(func, '__name__', func)}': cannot resolve its annotations ({exc}); "
            "pass input_schema=/output_schema= explicitly"
        ) from exc


def _strip_optional(tp: Any) -> Any:
    args = typing.get_args(tp)
    if args and type(None) in args:
        rest = tuple(a for a in args if a is not type(None))
        if len(rest) == 1:
            return rest[0]
    return tp


def clone_step(original: Any, *, id: str) -> Any:
    """A copy of a step (or committed workflow) with a new id; same logic and schemas.

    A workflow's copy is independent: its graph description says the new id, a nested run
    of it records its steps under the new id, and each has its own ``on_run`` callbacks.

    >>> twin = clone_step(shout, id="shout-again")  # doctest: +SKIP
    """
    check_step_id(id)
    if getattr(original, "is_workflow", False):
        return original._clone(id)
    twin = copy.copy(original)
    twin.id = id
    return twin
