"""What every benchmark module shares: a table row, the repeat-and-time helper, the table
printers and the machine description."""

from __future__ import annotations

import asyncio
import datetime
import gc
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["HEADER", "Row", "machine", "markdown_table", "paired", "python_ms", "repeat",
           "repeat_sync", "text_table"]

HEADER = ("measure", "median", "min-max", "floor (median)", "ratio", "goal")


@dataclass
class Row:
    """One line of the table: a flownb figure, and the floor measured beside it.

    ``values`` are the repeated measurements (empty when the row could not run: ``note``
    then says why). ``ratio`` is median / floor median; rows whose figures sit near zero
    (bytes retained per run) set ``show_ratio=False``. ``digits`` is the number of decimals
    shown.
    """

    measure: str
    unit: str
    values: list[float]
    floor_name: str = ""
    floor: list[float] | None = None
    goal: str = ""
    note: str = ""
    digits: int = 2
    show_ratio: bool = True

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def floor_median(self) -> float | None:
        return statistics.median(self.floor) if self.floor else None

    @property
    def ratio(self) -> float | None:
        fmed = self.floor_median
        if not self.values or not self.show_ratio or not fmed:
            return None
        return self.median / fmed

    def cells(self) -> list[str]:
        if not self.values:
            return [self.measure, "n/a", "", "", "", self.note or self.goal]
        d = self.digits
        spread = f"{min(self.values):.{d}f}-{max(self.values):.{d}f}"
        floor = ratio = ""
        fmed = self.floor_median
        if fmed is not None:
            floor = f"{self.floor_name}: {fmed:.{d}f} {self.unit}"
        if self.ratio is not None:
            ratio = f"{self.ratio:.1f}x"
        goal = f"{self.goal} ({self.note})" if self.goal and self.note else self.goal or self.note
        return [self.measure, f"{self.median:.{d}f} {self.unit}", spread, floor, ratio, goal]


def repeat(fn: Callable[[], Coroutine[Any, Any, float]], times: int, *,
           warm_up: bool = True) -> list[float]:
    """Run ``fn`` once to warm up (adapters, caches), then ``times`` timed runs, each in a
    fresh event loop with the garbage collector paused, as ``timeit`` does."""
    if warm_up:
        asyncio.run(fn())
    out: list[float] = []
    for _ in range(times):
        gc.collect()
        gc.disable()
        try:
            out.append(asyncio.run(fn()))
        finally:
            gc.enable()
    return out


def paired(fn: Callable[[], Coroutine[Any, Any, float]],
           floor: Callable[[], Coroutine[Any, Any, float]], times: int, *,
           warm_up: bool = True) -> tuple[list[float], list[float]]:
    """``repeat`` for a figure and its floor, alternating one run of each: a burst of other
    work on the machine then slows both sides alike, and the ratio holds."""
    got: list[float] = []
    base: list[float] = []
    for k in range(times + (1 if warm_up else 0)):
        for fn_, out in ((fn, got), (floor, base)):
            gc.collect()
            gc.disable()
            try:
                value = asyncio.run(fn_())
            finally:
                gc.enable()
            if k or not warm_up:
                out.append(value)
    return got, base


def repeat_sync(fn: Callable[[], float], times: int, *, warm_up: bool = True) -> list[float]:
    """``repeat`` for a synchronous ``fn`` (no event loop)."""
    if warm_up:
        fn()
    out: list[float] = []
    for _ in range(times):
        gc.collect()
        gc.disable()
        try:
            out.append(fn())
        finally:
            gc.enable()
    return out


def python_ms(code: str) -> float:
    """Run ``code`` in a fresh interpreter; it prints seconds, returned here as ms."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return float(out.stdout) * 1e3


def text_table(rows: Sequence[Row]) -> str:
    """The rows as a plain-text table with aligned columns (what the terminal shows)."""
    table = [list(HEADER)] + [r.cells() for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    lines = []
    for k, row in enumerate(table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: Sequence[Row]) -> str:
    """The rows as a GitHub-flavoured markdown table."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [line(HEADER), "| " + " | ".join("---" for _ in HEADER) + " |"]
    out.extend(line(r.cells()) for r in rows)
    return "\n".join(out)


def machine() -> dict[str, str]:
    """What the figures were measured on: CPUs, Python, platform, date, library versions."""
    import pydantic

    import flownb

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": f"{os.cpu_count()} x {cpu}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "versions": (f"flownb {getattr(flownb, '__version__', '?')}, "
                     f"pydantic {pydantic.VERSION}, SQLite {sqlite3.sqlite_version}"),
    }
    if hasattr(os, "getloadavg"):
        info["load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return info
