"""The benchmark script runs and prints every row (a smoke test: no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_quick_benchmark_prints_every_row():
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"], cwd=REPO,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    for row in ("100-step chain, no persistence", "100-step chain, SQLite store",
                "foreach 1,000 trivial items", "foreach 50 x 10 ms sleep, conc. 50",
                "suspend -> resume round trip", "import flownb"):
        assert row in out, row
