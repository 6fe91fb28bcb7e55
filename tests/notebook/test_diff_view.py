"""A ``RunDiff`` in a notebook (``_repr_html_``): both runs side by side, the changed steps
marked, each changed step's differences; bounded, escaped, themed by ``--jp-*`` colours."""

from __future__ import annotations

import re

from flownb import compare
from flownb.core.results import StepResult, WorkflowResult
from flownb.render import diff as diff_view


def result(run_id: str, **steps: StepResult) -> WorkflowResult:
    return WorkflowResult("success", run_id, "wf", steps=dict(steps))


def ok(output: object) -> StepResult:
    return StepResult("success", payload={"topic": "t"}, output=output)


def test_both_runs_side_by_side_with_the_changed_step_marked_and_its_difference():
    a = result("run-a", draft=ok({"text": "t"}), score=ok({"score": 3}))
    b = result("run-b", draft=ok({"text": "t"}), score=ok({"score": 4}),
               publish=ok({"done": True}))
    html = compare(a, b)._repr_html_()
    assert "<code>run-a</code> (A) with <code>run-b</code> (B): 3 steps, 1 changed, " \
           "1 only in B" in html
    sides = re.findall(r'<div class="fd-side" data-side="(A|B)">', html)
    assert sides == ["A", "B"]
    side_a, side_b = html.split('data-side="B"')
    # each side lists every step, in order; the changed one marked with the fields it changed
    for side in (side_a, side_b):
        assert re.findall(r'data-path="([^"]+)"><td>', side) == ["draft", "score", "publish"]
        assert ('<tr class="fd-changed" data-path="score"><td><code>score</code></td><td>'
                '<span class="st-success">success</span></td><td class="fd-mark">changed: '
                "output</td></tr>") in side
        assert '<tr data-path="draft">' in side
    assert '<tr class="fd-absent" data-path="publish">' in side_a
    assert '<tr class="fd-only" data-path="publish">' in side_b
    assert "only in B" in side_b
    # the differences of the changed step: JSON path, value in A, value in B
    assert ('<details open data-path="score"><summary><code>score</code> <span class="fd-sub">'
            "1 difference</span></summary>") in html
    assert ('<tr><td><code>output.score</code></td><td class="fd-a"><span class="fd-value">3'
            '</span></td><td class="fd-b"><span class="fd-value">4</span></td></tr>') in html
    assert "data-path=\"draft\"><summary>" not in html  # same steps list no differences


def test_user_strings_are_escaped_everywhere():
    a = result("<b>a</b>", **{"s<x>": ok({"k<i>": "<script>alert(1)</script>"})})
    b = result("b\x1b[31m", **{"s<x>": ok({"k<i>": "&"})})
    html = compare(a, b)._repr_html_()
    assert "<script>alert" not in html and "<b>a</b>" not in html and "<x>" not in html
    assert "&lt;b&gt;a&lt;/b&gt;" in html and 's&lt;x&gt;' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'output[&quot;k&lt;i&gt;&quot;]' in html
    assert "\x1b" not in html and "\\x1b" in html


def test_long_values_and_long_lists_are_cut():
    a = result("a", s=ok({"text": "x" * 1000, "items": list(range(80))}))
    b = result("b", s=ok({"text": "y" * 1000, "items": [n + 1 for n in range(80)]}))
    html = compare(a, b)._repr_html_()
    shown = re.findall(r'<span class="fd-value">([^<]*)</span>', html)
    assert shown[0] == "&quot;" + "x" * (diff_view.MAX_VALUE - 2) + "…"
    assert len(re.findall(r'<td class="fd-a">', html)) == diff_view.MAX_DIFFERENCES
    assert "… 31 more differences" in html  # 81 differences: text and 80 items


def test_many_steps_are_folded_and_a_missing_value_is_named(monkeypatch):
    monkeypatch.setattr(diff_view, "MAX_ROWS", 2)
    a = result("a", s1=ok(1), s2=ok(2), s3=ok({"x": 1}))
    b = result("b", s1=ok(1), s2=ok(2), s3=ok({}))
    html = compare(a, b)._repr_html_()
    assert html.count("… 1 more steps") == 2
    assert '<td class="fd-b"><span class="fd-missing">(missing)</span></td>' in html


def test_colours_come_from_jupyterlab_variables():
    html = compare(result("a", s=ok(1)), result("b", s=ok(2)))._repr_html_()
    style = html.split("<style>")[1].split("</style>")[0]
    # its own colours are named once, each from a JupyterLab variable (light fallback) ...
    own = dict(re.findall(r"(--fd-[a-z0-9]+): ([^;]+);", style))
    assert set(own) == {"--fd-fg", "--fd-fg2", "--fd-fg3", "--fd-bg", "--fd-line",
                        "--fd-changed", "--fd-only", "--fd-a", "--fd-b"}
    assert all(re.fullmatch(r"var\(--jp-[a-z0-9-]+, [^()]*(\([^()]*\))?\)", v)
               for v in own.values()), own
    # ... and every colour is one of those, a JupyterLab variable, or one mixed with nothing
    colours = re.findall(r"(?<![-\w])(?:color|background|fill|stroke):\s*([^;]+);", style)
    allowed = (r"var\(--(fd|jp)-[a-z0-9-]+(, #[0-9a-f]{6})?\)|transparent|none|inherit|"
               r"color-mix\(in srgb, var\(--fd-[a-z0-9]+\) \d+%, transparent\)")
    assert colours and all(re.fullmatch(allowed, c) for c in colours), colours
    # JupyterLab's *-color3 are light in its dark theme too: never a background here
    assert "-color3" not in style.replace("--jp-ui-font-color3", "")


def test_two_identical_runs_show_no_differences_section():
    html = compare(result("a", s=ok(1)), result("b", s=ok(1)))._repr_html_()
    assert "1 step, 0 changed" in html and "<h4>Differences</h4>" not in html
