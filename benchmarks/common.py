"""What every benchmark module shares: a table row and the repeat-and-time helper."""

from __future__ import annotations

import asyncio
import gc
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["Row", "repeat"]


@dataclass
class Row:
    measure: str
    unit: str
    values: list[float]
    floor_name: str = ""
    floor: list[float] | None = None
    goal: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def cells(self) -> list[str]:
        spread = f"{min(self.values):.2f}-{max(self.values):.2f}"
        floor = ratio = ""
        if self.floor:
            fmed = statistics.median(self.floor)
            floor = f"{self.floor_name}: {fmed:.2f} {self.unit}"
            ratio = f"{self.median / fmed:.1f}x" if fmed else ""
        return [self.measure, f"{self.median:.2f} {self.unit}", spread, floor, ratio, self.goal]


def repeat(fn: Callable[[], Awaitable[float]], times: int) -> list[float]:
    """Run ``fn`` once to warm up (adapters, caches), then ``times`` timed runs, each in a
    fresh event loop with the garbage collector paused, as ``timeit`` does."""
    asyncio.run(fn())
    out = []
    for _ in range(times):
        gc.collect()
        gc.disable()
        try:
            out.append(asyncio.run(fn()))
        finally:
            gc.enable()
    return out
