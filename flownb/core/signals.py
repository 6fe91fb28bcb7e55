"""Control-flow signals: how a step suspends or bails, and how the engine unwinds."""

from __future__ import annotations

from typing import Any

__all__ = ["USER_ERRORS", "Bail", "BailSignal", "ExitInThread", "StepFailed", "SuspendSignal",
           "Suspended", "bail", "suspend"]


# -- control-flow signals ------------------------------------------------------------------
# Raised inside user code, so they derive from BaseException: an ``except Exception`` in a
# step must not swallow a suspend or a bail.


class SuspendSignal(BaseException):
    def __init__(self, payload: Any) -> None:
        self.payload = payload


class BailSignal(BaseException):
    def __init__(self, result: Any) -> None:
        self.result = result


def suspend(payload: Any = None) -> Any:
    """Suspend the calling step at once (``return await suspend(x)`` works too)."""
    raise SuspendSignal(payload)


def bail(result: Any = None) -> Any:
    """End the directly containing workflow successfully, with ``result`` as its output."""
    raise BailSignal(result)


# What user code may raise that fails its step: every exception, and the two
# ``BaseException``s a function can raise by mistake (``sys.exit()``, a stray
# ``GeneratorExit``). ``KeyboardInterrupt`` and cancellation still stop the run.
USER_ERRORS: tuple[type[BaseException], ...] = (Exception, GeneratorExit, SystemExit)


class ExitInThread(Exception):
    """A ``GeneratorExit``/``SystemExit`` raised by a sync step in its worker thread,
    carried back as an ordinary exception: thrown into the awaiting coroutines as itself,
    it would skip every handler and close them instead."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


# Raised by the engine between its own frames.


class Suspended(Exception):
    """Some step below suspended; the enclosing constructs stop (siblings finish first)."""


class StepFailed(Exception):
    def __init__(self, path: str, message: str, cause: BaseException | None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.cause = cause


class Bail(Exception):
    def __init__(self, result: Any) -> None:
        self.result = result
