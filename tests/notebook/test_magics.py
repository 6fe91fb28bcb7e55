"""The %flow magics through IPython's shell (no kernel)."""

from __future__ import annotations

import json
import sys

import pytest
from IPython.core.interactiveshell import InteractiveShell
from nb_workflows import Doc, parallel_approvals, review_workflow

from flownb import Registry, run_sync
from flownb.discovery import load_target


@pytest.fixture
def ip():  # type: ignore[no-untyped-def]
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "flownb")
    shell.user_ns["wf"] = review_workflow()
    yield shell
    for name in ("wf", "res", "reg", "other"):
        shell.user_ns.pop(name, None)


def run(ip, source: str):  # type: ignore[no-untyped-def]
    return ip.run_cell(source, store_history=False)


def test_run_with_input_stores_the_result(ip, capsys):
    out = run(ip, """%flow run wf --input '{"text": "hi"}' -o res""")
    assert out.success
    result = ip.user_ns["res"]
    assert result.status == "suspended" and result.suspended == [["review"]]
    assert "RunView" in capsys.readouterr().out  # the live view was displayed


def test_cell_magic_takes_json_input(ip):
    assert run(ip, '%%flow run wf -o res\n{"text": "from the cell"}\n').success
    assert ip.user_ns["res"].steps["draft"].output == Doc(text="from the cell!")


def test_runs_lists_stored_runs_with_status_filter(ip, monkeypatch):
    run(ip, """%flow run wf --input '{"text": "a"}' -o res""")
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    run(ip, "%flow runs wf --status suspended")
    run(ip, "%flow runs --status failed")
    run(ip, "%flow runs")
    listed, none, everything = (h.data for h in shown)
    assert ip.user_ns["res"].run_id in listed and "status-suspended" in listed
    assert "no stored runs with status &#x27;failed&#x27;" in none
    assert "review-flow" in everything


def test_runs_table_html_lists_each_run(ip):
    from flownb.notebook import _html

    run(ip, """%flow run wf --input '{"text": "a"}' -o res""")
    table = _html.run_table(ip.user_ns["wf"].runs())
    assert ip.user_ns["res"].run_id in table and "status-suspended" in table


def test_resume_shows_the_view_with_a_form(ip, monkeypatch):
    run(ip, """%flow run wf --input '{"text": "a"}' -o res""")
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    assert run(ip, f"%flow resume {ip.user_ns['res'].run_id}").success
    (view,) = shown
    assert set(view.resume_forms) == {"review"}
    form = view.resume_forms["review"]
    form.fields["reviewer.name"].value = "Ada"
    form.fields["approved"].value = True  # required: a form fills in nothing itself
    form.fields["score"].value = 5
    from flownb import run_sync

    assert run_sync(form.submit()).status == "success"
    assert view.step_status == {"draft": "success", "review": "success"}


def test_resume_of_a_run_not_in_the_notebook_loads_its_origin(ip, monkeypatch, tmp_path):
    app = tmp_path / "app_magics_origin.py"
    app.write_text("from nb_workflows import review_workflow\nflow = review_workflow()\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    target = load_target(f"{app}:flow")
    started = target.workflow.create_run(run_id="elsewhere")
    started.origin = target.origin
    assert run_sync(started.start({"text": "a"})).status == "suspended"
    ip.user_ns.pop("wf")  # the workflow is in no name of the notebook
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    try:
        assert run(ip, "%flow resume elsewhere").success
        (view,) = shown
        assert view.run.workflow is target.workflow and set(view.resume_forms) == {"review"}
        app.rename(tmp_path / "moved.py")
        sys.modules.pop("app_magics_origin")
        result = run(ip, "%flow resume elsewhere")
        assert not result.success and str(result.error_in_exec) == (
            "%flow resume: run 'elsewhere' belongs to workflow 'review-flow', which is not in "
            f"this notebook, and cannot load workflow 'review-flow' from '{app}:flow': no such "
            f"file: '{app}'; define or import it first")
    finally:
        sys.modules.pop("app_magics_origin", None)


def test_inspect_draws_a_stored_run_from_its_snapshot(ip, monkeypatch):
    run(ip, """%flow run wf --input '{"text": "<b>a</b>"}' -o res""")
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    assert run(ip, f"%flow inspect {ip.user_ns['res'].run_id}").success
    page = shown[0].data
    assert "flownb-timeline" in page and "step-suspended" in page and "step-start" in page
    assert "&lt;b&gt;a&lt;/b&gt;" in page and "<b>a</b>" not in page
    assert "<svg" in page and "status-suspended" in page.replace("&#45;", "-")


def test_runs_shows_the_latest_20_unless_told(ip, monkeypatch):
    wf = ip.user_ns["wf"]
    for n in range(23):
        assert run_sync(wf.create_run().start({"text": f"r{n}"})).status == "suspended"
    stored = len(wf.runs())
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    for line in ("%flow runs wf", "%flow runs wf --limit 3", "%flow runs wf --all"):
        assert run(ip, line).success
    latest, three, everything = (h.data for h in shown)
    assert latest.count("<tr>") == 1 + 20 and three.count("<tr>") == 1 + 3
    assert everything.count("<tr>") == 1 + stored and "more:" not in everything
    assert f"… {stored - 20:,} more: the latest 20 of {stored:,} runs are listed" in latest
    assert wf.runs()[0].run_id in latest and wf.runs()[20].run_id not in latest
    assert not run(ip, "%flow runs wf --limit 0").success
    assert not run(ip, "%flow runs wf --limit 2 --all").success


def _cells_align(page: str) -> set[str]:
    import re

    cells = re.findall(r"<t[hd]\b[^>]*>", page)
    assert cells
    return {m.group(1) if (m := re.search(r"text-align:(\w+)", c)) else "unset"
            for c in cells}


def test_inspect_is_left_aligned_and_shows_each_question_and_answer(ip, monkeypatch):
    run(ip, """%flow run wf --input '{"text": "a"}' -o res""")
    run_id = ip.user_ns["res"].run_id
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    assert run(ip, f"%flow inspect {run_id}").success
    waiting = shown[-1].data
    assert _cells_align(waiting) == {"left"}  # JupyterLab right-aligns a cell that does not say
    assert "flownb-suspensions" in waiting and "none yet</i> (waiting since" in waiting
    assert "publish &lt;script&gt;" in waiting and "<script>" not in waiting
    answer = {"approved": True, "score": 7, "reviewer": {"name": "Ada"}}
    wf = ip.user_ns["wf"]
    done = run_sync(wf.create_run(run_id=run_id).resume(step="review", resume_data=answer))
    assert done.status == "success"
    assert run(ip, f"%flow inspect {run_id}").success
    page = shown[-1].data
    assert _cells_align(page) == {"left"}
    suspensions = page[page.index('class="flownb-suspensions"'):]
    suspensions = suspensions[:suspensions.index("</table>")]
    answered = done.steps["review"].started_at
    import datetime as dt

    when = dt.datetime.fromtimestamp(answered).strftime("%Y-%m-%d %H:%M:%S")
    assert "&quot;approved&quot;: true, &quot;score&quot;: 7" in suspensions
    assert "&quot;question&quot;" in suspensions and when in suspensions
    assert "step-resumed" in page


def test_inspect_folds_a_long_foreachs_events(ip, monkeypatch):
    from pydantic import BaseModel

    from flownb import create_step, create_workflow

    class N(BaseModel):
        n: int

    def fails_at_15(input_data: N) -> N:
        if input_data.n == 15:
            raise ValueError("fifteen")
        return input_data

    wf = (create_workflow(id="many", input_schema=list[N], output_schema=list[N])
          .foreach(create_step(id="item", input_schema=N, output_schema=N,
                               execute=lambda input_data: input_data))
          .foreach(create_step(id="picky", input_schema=N, output_schema=N,
                               execute=fails_at_15), concurrency=1)
          .commit())
    result = run_sync(wf.create_run().start([{"n": i} for i in range(30)]))
    assert result.status == "failed"
    ip.user_ns["other"] = wf
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    assert run(ip, f"%flow inspect {result.run_id}").success
    assert run(ip, f"%flow inspect {result.run_id} --all").success
    folded, everything = (h.data for h in shown)
    assert "item[…]" in folded and "60 events of 30 folded items" in folded
    assert "picky[…]" in folded and "30 events of 15 folded items" in folded
    assert "item[3]" not in folded and "picky[15]" in folded  # the failed item stays
    assert folded.count("<tr>") < 40 and "item[29]" in everything


def test_show_displays_the_graph(ip, monkeypatch):
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    run(ip, "%flow show wf")
    assert shown == [ip.user_ns["wf"]]


def test_a_registry_needs_workflow_name(ip, capsys):
    ip.user_ns["reg"] = Registry(workflows={"review": ip.user_ns["wf"],
                                            "approvals": parallel_approvals()})
    assert run(ip, """%flow run reg --workflow review --input '{"text": "r"}' -o res""").success
    assert ip.user_ns["res"].workflow_id == "review-flow"
    capsys.readouterr()
    assert not run(ip, "%flow run reg").success
    assert ("%flow: 'reg' is a registry; choose a workflow with --workflow NAME (known: "
            "review, approvals)") in capsys.readouterr().err


@pytest.mark.parametrize(("line", "message"), [
    ("%flow", "usage:"),
    ("%flow dance", "invalid choice"),
    ("%flow run", "the following arguments are required: wf"),
    ("%flow run nope", "the notebook's namespace has no attribute 'nope'"),
    ("%flow run wf --input '{bad'", "not valid JSON"),
    ("%flow run wf --input '{\"txt\": 1}'", "invalid input for workflow 'review-flow': text"),
    ("%flow resume no-such-run", "no stored run 'no-such-run'"),
    ("%flow inspect", "required: run_id"),
    ("%flow show json", "'json' is a module, not a flownb Workflow or Registry"),
])
def test_bad_usage_is_a_short_message_not_a_traceback(ip, capsys, line, message):
    ip.user_ns["json"] = json
    result = run(ip, line)
    assert not result.success
    err = capsys.readouterr().err
    assert "UsageError" in err and message in err
    assert "Traceback" not in err
    ip.user_ns.pop("json")


def test_run_break_pauses_before_the_step(ip):
    assert run(ip, """%flow run wf --input '{"text": "hi"}' --break draft -o res""").success
    result = ip.user_ns["res"]
    assert result.status == "suspended" and result.suspended == [["draft"]]
    assert result.steps["draft"].suspend_payload == {"breakpoint": "before",
                                                     "input": {"text": "hi"}}
    assert "draft" not in [k for k, s in result.steps.items() if s.status == "success"]


def test_run_break_on_an_unknown_step_names_the_steps(ip, capsys):
    run(ip, """%flow run wf --input '{"text": "hi"}' --break nope -o res""")
    assert "res" not in ip.user_ns
    assert "workflow 'review-flow' has no step 'nope' to set a breakpoint on" in (
        capsys.readouterr().err)
