"""The live view's timing hook in a real JupyterLab: every state update the page applies
records its time in ``globalThis.__flownbUpdateMs`` (benchmarks/browser.py reads it)."""

from __future__ import annotations

RUN_CELL = 3


def test_each_update_records_its_time(open_notebook, page, expect):
    nb = open_notebook("live_view.ipynb")
    nb.run_all()
    expect(nb.output(RUN_CELL)).to_contain_text("status=suspended")
    view = nb.output(2).locator(".flownb-run-view")
    expect(view).to_have_attribute("data-status", "suspended")
    times = page.evaluate("() => globalThis.__flownbUpdateMs")
    assert isinstance(times, list) and times, times
    assert len(times) <= 1000
    assert all(isinstance(ms, int | float) and 0 <= ms < 10_000 for ms in times), times
