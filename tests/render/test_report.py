"""The HTML report of a run (render/report.py, ``Run.to_html``): graph, a row per step,
timeline, values bounded and every user string escaped; the same from a stored Snapshot."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from flownb import create_step, create_workflow
from flownb.render import report
from flownb.render.report import FOLD_LINES, MAX_CHARS, snapshot_report
from flownb.storage import MemoryStore

EVIL = "<script>alert(1)</script>\x1b]0;pwned\x07\u202eevil"
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _step(step_id: str, fn: Any = None, description: str | None = None) -> Any:
    return create_step(id=step_id, input_schema=Any, output_schema=Any,
                       description=description, execute=fn or (lambda input_data: input_data))


def _boom(input_data: Any) -> Any:
    raise ValueError(f"no way {EVIL}")


def _workflow(store: Any) -> Any:
    inner = create_workflow(id="inner", storage=store).then(_step("x")).commit()
    return (create_workflow(id="demo", storage=store)
            .then(_step("make", lambda input_data: [EVIL, "b", "c"], description=EVIL))
            .foreach(_step("each"))
            .parallel([_step("left"), inner])
            .then(_step("fail", _boom))
            .commit())


@pytest.fixture
def finished():
    store = MemoryStore()
    run = _workflow(store).create_run(run_id="r<1>")
    result = asyncio.run(run.start({"title": EVIL}))
    assert result.status == "failed"
    return run, store


def _rows(html: str) -> list[str]:
    body = html.split('<table class="steps">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr><td><a href="#step-([^"]*)">', body)


def _check_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\\x1b]0;pwned\\x07" in html and "\\u202eevil" in html
    assert CONTROLS.search(html) is None


def test_a_live_runs_report_holds_the_graph_a_row_per_step_and_escapes(finished):
    run, _ = finished
    html = run.to_html()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert 'id="step:make"' in html and re.search(
        r'id="step:fail" class="[^"]*status(-|&#45;)failed', html)
    assert _rows(html) == ["make", "each", "left", "inner", "inner.x", "fail"]
    assert html.count('class="tl-bar ') == 6  # a timeline bar per row
    assert "3/3 items done (3 success)" in html and "<code>each[2]</code>" in html
    durations = re.findall(r'<td class="num">([^<]*)</td><td class="num">\d+</td>', html)
    assert len(durations) == 6 and all(re.fullmatch(r"[\d.]+ (ms|s)|", d) for d in durations), \
        durations  # each step's duration, not the template's text
    # the run's error with the traceback of the user's function, and the step's error
    assert "in _boom" in html and "ValueError: no way" in html
    _check_escaped(html)
    assert "demo · r&lt;1&gt; — flownb run report" in html  # the title, escaped
    # Nothing to fetch: no external script, style sheet, font or image.
    assert re.search(r'<(script|link|img)[^>]*(src|href)=', html) is None
    assert "@import" not in html and "url(" not in html


def test_to_html_writes_the_file_and_returns_the_text(finished, tmp_path):
    run, _ = finished
    path = tmp_path / "report.html"
    html = run.to_html(path)
    assert path.read_text(encoding="utf-8") == html
    assert run.to_html(str(tmp_path / "again.html")) == html


def test_a_stored_runs_report_needs_only_the_snapshot(finished):
    run, store = finished
    snap = store.load(run.run_id)
    html = snapshot_report(snap)
    assert _rows(html) == ["make", "each", "left", "inner", "inner.x", "fail"]
    assert re.search(r'id="step:fail" class="[^"]*status(-|&#45;)failed', html)
    assert "ValueError: no way" in html  # the stored error (no traceback: none is stored)
    _check_escaped(html)


def test_a_long_value_folds_and_a_huge_one_is_cut():
    html = report._value(list(range(50)))
    shown, rest = html.split('<details class="more">')
    assert shown.count("\n") == FOLD_LINES - 1
    assert f"show {52 - FOLD_LINES} more lines" in rest
    huge = report._value("x" * (MAX_CHARS + 500))
    assert f"502 more characters left out of the report ({MAX_CHARS + 502:,} in all)" in huge
    assert report._value({"a": 1}) == '<pre class="value">{\n  &quot;a&quot;: 1\n}</pre>'


def test_without_graphviz_the_report_says_so_and_shows_the_rest(finished):
    run, _ = finished

    def missing(description: Any, statuses: Any) -> str:
        raise RuntimeError("found no Graphviz program <b>")

    html = report.run_report(run, graph=missing)
    assert "The graph could not be drawn: found no Graphviz program &lt;b&gt;" in html
    assert "<svg" not in html and len(_rows(html)) == 6


def test_a_run_that_never_started_reports_no_steps():
    wf = create_workflow(id="idle", storage=False).then(_step("a")).commit()
    html = wf.create_run(run_id="r").to_html()
    assert "No step ran." in html and "No step started." in html
    assert re.search(r'id="step:a" class="[^"]*status(-|&#45;)pending', html)
