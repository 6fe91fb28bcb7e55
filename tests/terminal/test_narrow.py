"""``flownb runs`` stays readable on an 80-column terminal."""

from __future__ import annotations

import io
import re

from rich.console import Console

from flownb.core.results import RunInfo
from flownb.terminal.inspect import runs_table


def test_runs_table_at_80_columns_keeps_id_status_and_time_whole():
    run_id = "f29c6f333b4542d1a03d94d949bcf991"
    info = RunInfo(run_id=run_id, workflow_id="batch-process-documents", status="suspended",
                   created_at=1_000.0, updated_at=1_001.0,
                   suspended=[["approve-publication"]])
    out = io.StringIO()
    Console(file=out, width=80, color_system=None, force_terminal=False).print(
        runs_table([info]))
    text = out.getvalue()
    assert run_id in text
    assert "suspended" in text
    first_row = text.splitlines()[1]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:40$", first_row.rstrip())  # whole time
    assert max(len(line) for line in text.splitlines()) <= 80
