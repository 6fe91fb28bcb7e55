"""DOT → SVG through a Graphviz binary, and restyling a laid-out SVG by step status.

The binary is ``graphviz-pure`` (a pip dependency of flownb, so no system package is
needed), else the program named by ``$FLOWNB_DOT``, else a ``dot`` on ``PATH``.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sysconfig
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from . import style
from .dot import node_id, workflow_dot

__all__ = ["dot_to_svg", "find_dot", "svg_with_statuses", "workflow_svg"]

_INSTALL_HINT = (
    "flownb draws graphs with Graphviz but found no Graphviz program: install the "
    "'graphviz-pure' package into this environment (pip install graphviz-pure), or set "
    "FLOWNB_DOT to the path of a Graphviz 'dot' executable, or put 'dot' on PATH "
    "(e.g. apt install graphviz)"
)
_SVG_START = re.compile(r"<svg\b")
_SVG_OPEN_TAG = re.compile(r"<svg\b[^>]*>")
_GROUP = re.compile(r"<g\b[^>]*>")
_ATTR = re.compile(r'\s(id|class)="([^"]*)"')
_STATUS_CLASS = re.compile(r"\bstatus(-|&#45;)[a-z]+")
_STYLE_MARK = 'data-flownb="status"'


def find_dot() -> str:
    """The Graphviz program to run: graphviz-pure, then ``$FLOWNB_DOT``, then ``dot``.

    Raises ``RuntimeError`` naming what to install when there is none.
    """
    found = (shutil.which("graphviz-pure")
             or shutil.which("graphviz-pure", path=sysconfig.get_path("scripts")))
    if found:
        return found
    configured = os.environ.get("FLOWNB_DOT")
    if configured:
        program = shutil.which(configured)
        if program is None:
            raise RuntimeError(f"FLOWNB_DOT={configured!r} is not an executable program; "
                               f"point it at Graphviz's 'dot', or unset it. {_INSTALL_HINT}")
        return program
    dot = shutil.which("dot")
    if dot:
        return dot
    raise RuntimeError(_INSTALL_HINT)


def dot_to_svg(dot: str, *, timeout: float = 30.0) -> str:
    """Lay out DOT text and return the SVG, ready to embed in HTML.

    The XML prolog, DOCTYPE and header comments are removed, so the text starts at
    ``<svg``.
    """
    program = find_dot()
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{program} took more than {timeout:g} s to lay out the graph") \
            from None
    except OSError as exc:
        raise RuntimeError(f"could not run {program}: {exc}. {_INSTALL_HINT}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"{program} failed (exit status {done.returncode}): {message}")
    return _embeddable(done.stdout.decode("utf-8"))


def workflow_svg(description: Mapping[str, Any],
                 statuses: Mapping[str, str] | None = None, *, direction: str = "TB",
                 marks: Mapping[str, str] | None = None,
                 notes: Mapping[str, str] | None = None,
                 tips: Mapping[str, str] | None = None,
                 timeout: float = 30.0, cache: bool = True) -> str:
    """The SVG of a workflow's graph description, with the status style sheet built in.

    ``direction`` is ``"TB"`` (top to bottom) or ``"LR"`` (left to right); ``marks``,
    ``notes`` and ``tips`` (a plan's, step path → mark / second label line / tooltip) as for
    :func:`~flownb.render.dot.workflow_dot`.

    Recolour it later with :func:`svg_with_statuses` (no new layout). The last
    ``LAYOUT_CACHE_SIZE`` layouts are kept, by DOT text and Graphviz program, so showing
    another run of a workflow already drawn (each ``RunView``, each displayed run) does
    not run Graphviz again; ``cache=False`` always lays out.
    """
    dot = workflow_dot(description, statuses, direction=direction, marks=marks, notes=notes,
                       tips=tips)
    if not cache:
        return _with_status_style(dot_to_svg(dot, timeout=timeout))
    key = (find_dot(), dot)
    with _LAYOUTS_LOCK:
        svg = _LAYOUTS.get(key)
        if svg is not None:
            _LAYOUTS.move_to_end(key)
            return svg
    svg = _with_status_style(dot_to_svg(dot, timeout=timeout))
    with _LAYOUTS_LOCK:
        _LAYOUTS[key] = svg
        while len(_LAYOUTS) > LAYOUT_CACHE_SIZE:
            _LAYOUTS.popitem(last=False)
    return svg


LAYOUT_CACHE_SIZE = 64
_LAYOUTS: OrderedDict[tuple[str, str], str] = OrderedDict()
_LAYOUTS_LOCK = threading.Lock()


def svg_with_statuses(svg: str, statuses: Mapping[str, str]) -> str:
    """``svg`` with the nodes of ``statuses`` (step path → status) restyled, without layout.

    Only the ``status-<name>`` class of each step's group changes (and the style sheet that
    colours those classes is added when missing); every shape and coordinate stays as it is.
    """
    wanted: dict[str, str] = {}
    for path, status in statuses.items():
        style.check_status(status, path)
        for kind in ("step", "map", "sleep", "workflow"):
            wanted[node_id(kind, path)] = status

    def restyle(match: re.Match[str]) -> str:
        tag = match.group(0)
        attrs = {name: value for name, value in _ATTR.findall(tag)}
        status = wanted.get(html.unescape(attrs.get("id", "")))
        if status is None or "class" not in attrs:
            return tag
        classes = _STATUS_CLASS.sub(lambda m: f"status{m.group(1)}{status}", attrs["class"])
        return tag.replace(f' class="{attrs["class"]}"', f' class="{classes}"', 1)

    return _with_status_style(_GROUP.sub(restyle, svg))


def _embeddable(svg: str) -> str:
    start = _SVG_START.search(svg)
    if start is None:
        raise RuntimeError("the Graphviz program returned no SVG")
    return svg[start.start():]


def _with_status_style(svg: str) -> str:
    if _STYLE_MARK in svg:
        return svg
    tag = _SVG_OPEN_TAG.search(svg)
    if tag is None:
        return svg
    block = f"\n<style {_STYLE_MARK}>\n{style.STATUS_CSS}\n{style.PLAN_CSS}\n</style>"
    return svg[:tag.end()] + block + svg[tag.end():]
