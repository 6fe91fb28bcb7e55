"""The front end's files, shipped inside the package (no build step at install, no CDN), and
how they reach the browser: once per kernel, however many widgets a notebook shows.

A bundle is what one kind of widget draws with: an ES module (``static/parts.js``, the
parts every flownb widget is built from: ``h``, ``fill``, a child widget attached the
Lumino way, ``WidgetSlots``, followed by the widget's own file; ``parts.js`` declares and
exports nothing else, so the pair is one module) and a style sheet.

A flownb widget (:class:`FlownbWidget`) does not carry its bundle: its anywidget ES module
is ``static/loader.js``, a few lines that import the bundle from the kernel's one
:class:`Assets` widget (never displayed), which holds each bundle a widget has used so
far. JupyterLab saves a notebook's widgets with their state, ES module included: with the
code in every widget, each live view shown added ~55 KB to the file; now it adds ~1.5 KB
and the file holds each bundle once.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any, ClassVar

import anywidget
import ipywidgets as widgets
import traitlets as t

__all__ = ["BUNDLES", "STATIC", "Assets", "FlownbWidget", "bundle", "shared_assets",
           "static_text"]

STATIC = resources.files(__package__) / "static"

BUNDLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "live": (("parts.js", "live.js"), ("live.css",)),
    "forms": (("parts.js", "forms.js"), ("forms.css",)),
    "inbox": (("parts.js", "inbox.js"), ("parts.css", "inbox.css")),
    "playground": (("parts.js", "playground.js"), ("parts.css", "playground.css")),
}
"""Bundle name → (its ES module's files, its style sheet's files), in order."""


def static_text(*names: str) -> str:
    """The package's static files ``names``, one after the other."""
    return "\n".join((STATIC / name).read_text(encoding="utf-8") for name in names)


@functools.cache
def bundle(name: str) -> dict[str, str]:
    """The bundle ``name`` as the browser gets it: ``{"esm": module text, "css": sheet}``."""
    esm, css = BUNDLES[name]
    return {"esm": static_text(*esm), "css": static_text(*css)}


@functools.cache
def _loader(name: str) -> str:
    return f"const BUNDLE = {json.dumps(name)};\n{static_text('loader.js')}"


class Assets(anywidget.AnyWidget):
    """The front end's code, held once for every flownb widget of the kernel (see the
    module). ``bundles`` maps the name of each bundle a widget has used to
    :func:`bundle`'s ``{"esm", "css"}``; a bundle is added (and sent) when the first
    widget that draws with it is made. Never displayed; get it with :func:`shared_assets`.
    """

    _esm = "export default {};"

    bundles = t.Dict().tag(sync=True)

    def need(self, name: str) -> None:
        """Hold the bundle ``name`` (sent to the browser now if it was not held)."""
        if name not in self.bundles:
            self.bundles = {**self.bundles, name: bundle(name)}


_shared: Assets | None = None


def shared_assets(name: str) -> Assets:
    """The kernel's :class:`Assets`, holding the bundle ``name``: made on first use, and
    made again if it was closed (``Widget.close_all()``); it lives as long as the kernel."""
    global _shared
    if _shared is None or _shared.comm is None:
        _shared = Assets(bundles={name: bundle(name)})
    else:
        _shared.need(name)
    return _shared


class FlownbWidget(anywidget.AnyWidget):
    """A flownb anywidget widget drawn with the bundle its class names in ``_bundle``: its
    ES module is the loader, and ``_assets`` the kernel's :class:`Assets` it loads from."""

    _bundle: ClassVar[str] = ""

    _assets = t.Instance(Assets).tag(sync=True, **widgets.widget_serialization)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "_bundle" in cls.__dict__:  # before anywidget reads the class's ``_esm``
            cls._esm = _loader(cls._bundle)
        super().__init_subclass__(**kwargs)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(_assets=shared_assets(self._bundle), **kwargs)
