"""Profile one hot path with pyinstrument (``pip install flownb[bench]``).

    python -m benchmarks.profiling sqlite-chain        # or: chain, round-trip, foreach
    python -m benchmarks.profiling round-trip --repeat 500 --html /tmp/rt.html

Runs the same workloads as the table (after one warm-up run) under a sampling profiler and
prints the call tree, or writes it as HTML. This is how the changes listed under "What
profiling changed" in docs/benchmarks.md were found.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from flownb.storage import SQLiteStore

from .core import chain, foreach_ms, foreach_wf, per_step, suspend_resume_ms

__all__ = ["main"]


def _target(name: str, tmp: Path) -> Callable[[], Coroutine[Any, Any, Any]]:
    if name == "chain":
        wf = chain(100, False)
        return lambda: per_step(wf, 100)
    if name == "sqlite-chain":
        wf = chain(100, SQLiteStore(tmp / "chain.db"))
        return lambda: per_step(wf, 100)
    if name == "round-trip":
        store = SQLiteStore(tmp / "hitl.db")
        return lambda: suspend_resume_ms(store)
    fe = foreach_wf(10, 0)
    return lambda: foreach_ms(fe, 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=("chain", "sqlite-chain", "round-trip", "foreach"))
    parser.add_argument("--repeat", type=int, default=50, help="runs profiled (default 50)")
    parser.add_argument("--interval", type=float, default=0.0001,
                        help="sampling interval in seconds (default 0.0001)")
    parser.add_argument("--html", type=Path, default=None, help="write HTML here instead")
    args = parser.parse_args(argv)
    try:
        from pyinstrument import Profiler
    except ImportError:
        parser.error("pyinstrument is not installed (pip install flownb[bench])")
    with tempfile.TemporaryDirectory(prefix="flownb-profile-") as tmp:
        one = _target(args.target, Path(tmp))

        async def many(times: int) -> None:
            for _ in range(times):
                await one()

        asyncio.run(many(1))
        profiler = Profiler(interval=args.interval)
        profiler.start()
        asyncio.run(many(args.repeat))
        profiler.stop()
    if args.html is not None:
        args.html.write_text(profiler.output_html(), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    else:
        print(profiler.output_text(unicode=True, color=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
