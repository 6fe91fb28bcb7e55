"""The traceback of a step's failure as its author reads it: from the step's own frame.

Between a run and a failing step sit frames of flownb (the engine, the invoker) and of the
standard library (``asyncio.to_thread``, a thread pool): five or more, the same for every
failure and saying nothing about this one. :func:`user_traceback` leaves out those that
come before the first frame of the user's code; what the user's code called (a library,
the standard library) stays. The notebook's inspector and the terminal show it; the
notebook names a frame of a cell as IPython does (``Cell In[3], line 45``), not by the
kernel's temporary file.
"""

from __future__ import annotations

import os
import re
import sysconfig
import traceback
from collections.abc import Callable

from .._text import escape_controls

__all__ = ["user_traceback"]


def user_traceback(exc: BaseException | None, *,
                   cell: Callable[[str], str | None] | None = None) -> str | None:
    """The formatted traceback of ``exc`` (or of the exception it wraps: a failed step's
    ``cause``) from its first frame in the user's code, control characters escaped (lines
    kept); ``None`` when it has no traceback or no frame of the user's code (an input that
    failed validation: the error says it all).

    ``cell(filename)`` names the notebook cell a file is (``"In[3]"``), or ``None``: such a
    frame reads ``Cell In[3], line 45, in name`` instead of ``File "/tmp/...", line 45``."""
    if exc is None:
        return None
    cause = getattr(exc, "cause", None) or exc
    first = cause.__traceback__
    while first is not None and _runs_steps(first.tb_frame.f_code.co_filename):
        first = first.tb_next
    if first is None:
        return None
    text = "".join(traceback.format_exception(type(cause), cause, first))
    if cell is not None:
        text = _FRAME.sub(lambda m: _cell_frame(m, cell), text)
    return escape_controls(text, keep_newlines=True)


_FRAME = re.compile(r'^  File "([^"\n]+)", line ', re.MULTILINE)


def _cell_frame(match: re.Match[str], cell: Callable[[str], str | None]) -> str:
    name = cell(match.group(1))
    return match.group(0) if name is None else f"  Cell {name}, line "


def _runs_steps(filename: str) -> bool:
    """Is ``filename`` flownb's or the standard library's (not an installed package's)?"""
    return filename.startswith(_FLOWNB) or (filename.startswith(_STDLIB)
                                            and not filename.startswith(_INSTALLED))


_FLOWNB = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_STDLIB = os.path.join(sysconfig.get_paths()["stdlib"], "")
_INSTALLED = tuple(os.path.join(sysconfig.get_paths()[k], "") for k in ("purelib", "platlib"))


