"""The %flow magics through IPython's shell (no kernel)."""

from __future__ import annotations

import json

import pytest
from IPython.core.interactiveshell import InteractiveShell
from nb_workflows import Doc, review_workflow

from flownb import Registry


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
    from flownb import run_sync

    assert run_sync(form.submit()).status == "success"
    assert view.step_status == {"draft": "success", "review": "success"}


def test_inspect_draws_a_stored_run_from_its_snapshot(ip, monkeypatch):
    run(ip, """%flow run wf --input '{"text": "<b>a</b>"}' -o res""")
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    assert run(ip, f"%flow inspect {ip.user_ns['res'].run_id}").success
    page = shown[0].data
    assert "flownb-timeline" in page and "step-suspended" in page and "step-start" in page
    assert "&lt;b&gt;a&lt;/b&gt;" in page and "<b>a</b>" not in page
    assert "<svg" in page and "status-suspended" in page.replace("&#45;", "-")


def test_show_displays_the_graph(ip, monkeypatch):
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    run(ip, "%flow show wf")
    assert shown == [ip.user_ns["wf"]]


def test_a_registry_needs_workflow_name(ip, capsys):
    ip.user_ns["reg"] = Registry(workflows={"review": ip.user_ns["wf"]})
    assert run(ip, """%flow run reg --workflow review --input '{"text": "r"}' -o res""").success
    assert ip.user_ns["res"].workflow_id == "review-flow"
    capsys.readouterr()
    assert not run(ip, "%flow run reg").success
    assert "--workflow NAME" in capsys.readouterr().err


@pytest.mark.parametrize(("line", "message"), [
    ("%flow", "usage:"),
    ("%flow dance", "invalid choice"),
    ("%flow run", "the following arguments are required: wf"),
    ("%flow run nope", "no 'nope' in the notebook's namespace"),
    ("%flow run wf --input '{bad'", "not valid JSON"),
    ("%flow run wf --input '{\"txt\": 1}'", "invalid input for workflow 'review-flow': text"),
    ("%flow resume no-such-run", "no stored run 'no-such-run'"),
    ("%flow inspect", "required: run_id"),
    ("%flow show json", "is a module, not a workflow"),
])
def test_bad_usage_is_a_short_message_not_a_traceback(ip, capsys, line, message):
    ip.user_ns["json"] = json
    result = run(ip, line)
    assert not result.success
    err = capsys.readouterr().err
    assert "UsageError" in err and message in err
    assert "Traceback" not in err
    ip.user_ns.pop("json")
