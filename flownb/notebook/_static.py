"""The front end's files, shipped inside the package (no build step at install, no CDN).

Each anywidget widget's ES module is ``static/parts.js`` (what every flownb widget draws
with: ``h``, ``fill``, a child widget attached the Lumino way, ``WidgetSlots``) followed by
its own file; ``parts.js`` declares and exports nothing else, so the pair is one module.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["STATIC", "static_text"]

STATIC = resources.files(__package__) / "static"


def static_text(*names: str) -> str:
    """The package's static files ``names``, one after the other."""
    return "\n".join((STATIC / name).read_text(encoding="utf-8") for name in names)
