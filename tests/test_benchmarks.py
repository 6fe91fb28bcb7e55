"""The benchmark script runs and prints every row (a smoke test: no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Every row of the quick table, by the start of its label. Rows whose package or feature is
# missing (peers, the live view) still print, with "n/a".
ROWS = (
    "100-step chain, no persistence",
    "(floor) plain async",
    "100-step chain, SQLite store",
    "100 runs x 10 steps started together, SQLite",
    "foreach 1,000 trivial items, conc. 10 ",
    "foreach 1,000 trivial items, conc. 10, SQLite store",
    "foreach 50 x 10 ms sleep, conc. 1 ",
    "foreach 50 x 10 ms sleep, conc. 10 ",
    "foreach 50 x 10 ms sleep, conc. 50 ",
    "suspend -> resume round trip, SQLite",
    "import flownb (fresh process)",
    "import flownb + build a workflow",
    "each value stored once: 1 MB string through 3 steps, SQLite",
    "time of that run (1 MB string through 3 steps, SQLite)",
    "watching an idle run, SQLite",
    "fully reused 100-step chain, SQLite",
    "100-step chain, reuse on, every step a miss, SQLite",
    "notebook 07 pipeline re-run after editing its last step, reuse",
    "wf.plan of a 100-step workflow",
    "SVG of a 10-node workflow",
    "SVG of a 100-node workflow",
    "SVG of a 500-node workflow",
    "live view on a 2,000-event run",
    "browser: 10,000-item foreach, front-end time per update",
    "browser: messages/s and bytes/message",
    "peak RSS, foreach 1,000 items",
    "peak RSS, 200-step chain",
    "growth per run, foreach 1,000 items",
    "growth per run, 200-step chain",
    "foreach 60 x 20 ms CPU, conc. 50, local threads",
    "foreach 60 x 20 ms CPU, conc. 50, Dask 2 processes vs bare client.map",
    "LangGraph: 100-step chain",
    "LangGraph: fan-out of 100 items",
    "pydantic-graph: 100-step chain",
    "pydantic-graph: fan-out of 100 items",
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    output = tmp_path_factory.mktemp("bench") / "benchmarks.md"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--output",
                           str(output)], cwd=REPO, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout, output


def test_quick_benchmark_prints_every_row(quick_run: tuple[str, Path]) -> None:
    out, _ = quick_run
    lines = out.splitlines()
    assert lines[0].split() == ["measure", "median", "min-max", "floor", "(median)", "ratio",
                                "goal"]
    for row in ROWS:
        matching = [line for line in lines if line.lstrip().startswith(row)]
        assert len(matching) == 1, (row, out)


def test_quick_benchmark_writes_a_markdown_table(quick_run: tuple[str, Path]) -> None:
    _, output = quick_run
    text = output.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n")
    assert "<!-- BEGIN GENERATED" in text and "<!-- END GENERATED -->" in text
    assert "| measure | median | min-max | floor (median) | ratio | goal |" in text
    assert "| --- | --- | --- | --- | --- | --- |" in text
    assert "- **cpus**: " in text and "- **python**: " in text
    first_cells = [line[2:].split(" | ")[0].strip() + " " for line in text.splitlines()
                   if line.startswith("| ")]
    for row in ROWS:
        assert sum(cell.startswith(row) for cell in first_cells) == 1, row


def test_output_replaces_only_the_generated_part(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.__main__ import BEGIN, END, write_output

    doc = tmp_path / "doc.md"
    doc.write_text(f"# Title\n\nBefore.\n\n{BEGIN}\nold table\n{END}\n\nAfter: kept.\n",
                   encoding="utf-8")
    write_output(doc, f"{BEGIN}\nnew table\n{END}")
    assert doc.read_text(encoding="utf-8") == (
        f"# Title\n\nBefore.\n\n{BEGIN}\nnew table\n{END}\n\nAfter: kept.\n")
