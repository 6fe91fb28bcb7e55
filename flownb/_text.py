"""Showing user text safely (control characters become visible escapes); small formatters.

Ids, descriptions, payloads, error messages and run ids are shown in terminals, DOT, SVG and
HTML. A raw control character there is at best invisible and at worst an instruction: ESC
starts terminal sequences (an OSC can retitle the terminal), CR and backspace overwrite what
was printed, U+009B is a one-character CSI, control characters other than tab and newline
make an SVG invalid XML, and the bidirectional formatting characters (U+202A–U+202E,
U+2066–U+2069, "Trojan source") reorder what a reader sees. Every such character is shown
as an escape instead, the way Python writes it: ``\\x1b``, ``\\x9b``, ``\\u202e``,
``\\n``, ``\\t``, ``\\r``.

Standard library only, so ``flownb.render.dot`` (and any layer) can use it.

>>> escape_controls("a\\x1b]0;pwned\\x07b")
'a\\\\x1b]0;pwned\\\\x07b'
>>> escape_controls("line 1\\nline 2\\r"), escape_controls("one\\ntwo", keep_newlines=True)
('line 1\\\\nline 2\\\\r', 'one\\ntwo')
"""

from __future__ import annotations

import html
import re

__all__ = ["BIDI", "escape_controls", "escape_html", "escape_json_controls", "format_duration"]

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""The bidirectional formatting characters (embeddings, overrides and isolates)."""

# Unicode category Cc is exactly U+0000–U+001F and U+007F–U+009F.
_LINE = re.compile("[\x00-\x1f\x7f-\x9f" + BIDI + "]")
_BLOCK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + BIDI + "]")  # tab and newline stay
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _python_escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    short = _SHORT.get(ch)
    if short is not None:
        return short
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character (Unicode category Cc: C0, DEL, C1) and every
    bidirectional formatting character replaced by a visible escape.

    The escapes are Python's: ``\\t``, ``\\n``, ``\\r``, ``\\xNN`` for the other code points
    below U+0100 and ``\\uNNNN`` for the bidi characters, so the result contains no control
    character at all and reads back with ``codecs.decode(..., "unicode_escape")``. A
    backslash already in ``text`` is left as it is (so ``\\x1b`` typed as four characters
    and an escaped ESC look the same; nothing is lost that a reader needs).

    ``keep_newlines=False`` (the default) is for a single line: an id, a table cell, a tree
    label, a title. Newline and tab are escaped too, so the text cannot break a layout.
    ``keep_newlines=True`` is for a block printed on lines of its own (an error message, a
    traceback, a description): newline and tab stay as they are, every other control
    character (carriage return included, which would overwrite the line) is escaped.

    >>> escape_controls("\\u202eevil\\x9b2J"), escape_controls("a\\tb", keep_newlines=True)
    ('\\\\u202eevil\\\\x9b2J', 'a\\tb')
    """
    return (_BLOCK if keep_newlines else _LINE).sub(_python_escape, text)


def escape_json_controls(text: str) -> str:
    """JSON text (as ``json.dumps`` writes it) with every control and bidi character
    escaped as ``\\uNNNN``, so it stays valid JSON meaning the same data.

    ``json.dumps(..., ensure_ascii=False)`` already escapes C0 characters inside strings,
    but writes DEL, the C1 characters and the bidi characters as they are; newlines and
    tabs outside strings (indentation) are kept.

    >>> escape_json_controls('{"a": "x\\u202ey\\x9b"}')
    '{"a": "x\\\\u202ey\\\\u009b"}'
    """
    return _BLOCK.sub(_json_escape, text)


def escape_html(text: str, *, quote: bool = True) -> str:
    """``html.escape(text)`` after :func:`escape_controls` (newlines and tabs kept, as
    HTML folds them or a ``<pre>`` shows them)."""
    return html.escape(escape_controls(text, keep_newlines=True), quote=quote)


def format_duration(seconds: float | None) -> str:
    """``"12 ms"``, ``"1.50 s"``, ``"2m 03s"``; empty for an unknown duration.

    >>> format_duration(0.0123), format_duration(1.5), format_duration(123)
    ('12 ms', '1.50 s', '2m 03s')
    """
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"
