"""Closing composite widgets whole.

ipywidgets keeps every open widget in a registry until it is closed, and ``Widget.close``
closes only the widget itself: a closed ``VBox`` leaves its children, their layouts and
styles open for the life of the kernel. flownb's composites (views, forms, panels) close
everything they made with :func:`close_tree`.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

__all__ = ["close_tree"]


def close_tree(widget: Any) -> None:
    """Close every widget under ``widget``: its children, recursively, and the layout and
    style of each (``widget`` itself is left to its own ``close``)."""
    for part in (*(getattr(widget, "children", None) or ()),
                 getattr(widget, "layout", None), getattr(widget, "style", None)):
        if isinstance(part, widgets.Widget):
            close_tree(part)
            part.close()
