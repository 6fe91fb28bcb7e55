"""The playground: RegistryView tabs, input forms that start runs, stored runs that open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from ipywidgets.widgets.widget import _instances
from nb_workflows import parallel_approvals, review_workflow

from flownb import Registry
from flownb.discovery import TargetError, workflows_in
from flownb.notebook.playground import PAGE, RegistryView, playground_notebook


def registry() -> Registry:
    return Registry(workflows={"review": review_workflow(), "approvals": parallel_approvals()})


async def test_one_tab_per_workflow_with_form_graph_and_runs():
    view = RegistryView(registry())
    assert list(view.panels) == ["review", "approvals"]
    assert view.titles == ["review", "approvals"]
    assert view.tabs == list(view.panels.values()) and view.selected_index == 0
    panel = view.panels["review"]
    assert "draft, then a person reviews" in panel.about["description"]
    assert panel.about["id"] == "review-flow"
    assert "<svg" in panel.graph and 'class="flownb-themed-graph"' in panel.graph
    assert panel.input_form == [panel.form]  # the form is shown inside the panel
    assert panel.runs.options == () and panel.rows == []
    view.close()


def test_a_tab_title_is_text():
    from nb_workflows import review_workflow as make

    view = RegistryView({"<b>x</b>\x1b[31m": make()})
    assert view.titles == ["<b>x</b>\\x1b[31m"]  # shown as text by the page; no control
    view.close()


async def test_a_run_from_the_form_is_listed_and_opens_with_its_resume_form():
    view = RegistryView(registry())
    panel = view.panels["review"]
    panel.form.fields["text"].value = "from the playground"
    result = await panel.form.submit()
    assert result.status == "suspended"
    (label, run_id), = panel.runs.options  # listed after the run, without a refresh click
    assert run_id == result.run_id and label.startswith("suspended")
    assert "waiting for review" in label
    panel.selected = run_id  # picking it (a click in the list) opens its view
    assert panel.view is not None and panel.opened == [panel.view]
    assert panel.runs.value == run_id and panel.runs.tooltip == label
    form = panel.view.resume_forms["review"]
    form.fields["reviewer.name"].value = "Ada"
    form.fields["approved"].value = True  # required: a form fills in nothing itself
    form.fields["score"].value = 5
    done = await form.submit()
    assert done.status == "success"
    assert panel.runs.options[0][0].startswith("success")  # refreshed when it finished
    assert panel.runs.value == run_id  # and still selected


def _views_of(widget: object, run_id: str) -> list[object]:
    """Every RunView of ``run_id`` displayed inside ``widget``: the widgets its synced traits
    hold (a box's children, the lists of widgets an anywidget widget shows), recursively."""
    from ipywidgets import Widget

    from flownb.notebook.view import RunView

    found = []
    stack = [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, RunView) and w.run is not None and w.run.run_id == run_id:
            found.append(w)
        if isinstance(w, Widget):
            for name in w.trait_names(sync=lambda sync: bool(sync)):
                value = getattr(w, name)
                parts = value if isinstance(value, (list, tuple)) else [value]
                stack.extend(p for p in parts if isinstance(p, Widget))
    return found


async def test_picking_the_run_just_started_shows_one_view_of_it():
    panel = RegistryView(registry()).panels["review"]
    panel.form.fields["text"].value = "once"
    result = await panel.form.submit()
    started = panel.form.view
    assert _views_of(panel, result.run_id) == [started]
    panel.runs.value = result.run_id
    assert _views_of(panel, result.run_id) == [started]  # moved, not drawn twice
    assert panel.view is started and panel.opened == [started]
    panel.runs.value = None
    panel.runs.value = result.run_id  # picked again: still one
    assert _views_of(panel, result.run_id) == [started]
    assert panel.open_run(result.run_id) is started  # and opened from Python: the same
    assert _views_of(panel, result.run_id) == [started]
    other = await panel.workflow.create_run().start({"text": "another"})
    panel.selected = other.run_id  # another run: the moved view is closed, the new shown
    assert started.closed and _views_of(panel, result.run_id) == []
    assert _views_of(panel, other.run_id) == [panel.view]
    panel.close()


async def test_no_runs_yet_then_filtered_by_status_and_paged(store):
    panel = RegistryView(registry()).panels["review"]
    assert panel.count == "no runs yet" and panel.rows == []  # the page hides an empty list
    assert (panel.page, panel.pages) == (0, 1)
    wf = panel.workflow
    for n in range(PAGE + 5):
        await wf.create_run().start({"text": f"t{n}"})  # each suspends at review
    panel.refresh()
    assert len(panel.runs.options) == PAGE and panel.count == f"1–{PAGE} of {PAGE + 5}"
    assert (panel.page, panel.pages) == (0, 2)  # the page: newer disabled, older not
    newest = [run_id for _, run_id in panel.runs.options]
    panel._handle_custom_msg({"kind": "page", "page": 1}, [])  # the older button
    assert len(panel.runs.options) == 5 and panel.page == 1
    assert panel.count == f"{PAGE + 1}–{PAGE + 5} of {PAGE + 5}"
    assert not {run_id for _, run_id in panel.runs.options} & set(newest)
    panel._handle_custom_msg({"kind": "page", "page": 2}, [])  # past the last: stays
    assert panel.page == 1
    panel._handle_custom_msg({"kind": "page", "page": "x"}, [])  # ignored
    panel._handle_custom_msg("nonsense", [])
    assert panel.page == 1
    panel.status_filter = "success"  # the dropdown: back to the first page
    assert panel.runs.options == () and panel.count == "no success runs yet"
    panel.status_filter = "suspended"
    assert len(panel.runs.options) == PAGE and panel.page == 0
    label, run_id = panel.runs.options[0]
    panel.runs.value = run_id
    assert panel.runs.tooltip == label and "waiting for review" in label
    await wf.create_run(run_id="newest").start({"text": "later"})  # listed when it suspends
    assert panel.runs.options[0][1] == "newest" and panel.count == f"1–{PAGE} of {PAGE + 6}"
    panel._handle_custom_msg({"kind": "page", "page": 1}, [])  # the picked run is not here
    assert panel.selected == "" and panel.view is not None  # its view stays open
    store.delete("newest")
    panel._handle_custom_msg({"kind": "refresh"}, [])  # the refresh button reads again
    assert panel.count == f"{PAGE + 1}–{PAGE + 5} of {PAGE + 5}"
    panel.close()


async def test_closing_the_view_closes_every_widget_and_stops_following_runs():
    before = set(_instances)
    view = RegistryView(registry())
    panel = view.panels["review"]
    panel.form.fields["text"].value = "to close"
    result = await panel.form.submit()
    panel.runs.value = result.run_id  # an opened run view, with its resume form
    assert panel.view is not None and panel.view.resume_forms
    other = await panel.workflow.create_run().start({"text": "stored"})
    panel.runs.value = other.run_id  # a view opened from the store
    view.close()
    assert set(_instances) == before
    await review_workflow_run(panel.workflow)  # a later run no longer refreshes the panel
    assert [v for _, v in panel.runs.options] == [other.run_id, result.run_id]


async def review_workflow_run(wf: object) -> None:
    await wf.create_run().start({"text": "after close"})  # type: ignore[attr-defined]


def test_the_playground_finds_registries_and_workflows():
    reg = registry()
    lone = review_workflow()
    found = workflows_in({"reg": reg, "x": 1})
    assert list(found) == ["review", "approvals"]
    assert list(workflows_in({"wf": lone})) == ["review-flow"]
    assert list(workflows_in({"reg": reg, "wf": lone}, "wf")) == ["review-flow"]
    with pytest.raises(TargetError, match="module 'flows' has no attribute 'nope' "
                                          r"\(workflows there: reg\)"):
        workflows_in({"reg": reg}, "nope", module="flows")
    with pytest.raises(TargetError, match="'x' is a int, not a flownb Workflow or Registry"):
        workflows_in({"x": 1}, "x")


def test_empty_registry_view_is_an_error():
    with pytest.raises(ValueError, match="no workflows"):
        RegistryView({})


def test_playground_notebook_imports_the_module_and_shows_the_view(tmp_path):
    path = playground_notebook(tmp_path / ".flownb" / "playground.ipynb", "my_flows", "reg",
                               root=tmp_path)
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4 and nb["metadata"]["kernelspec"]["name"] == "python3"
    code = "".join(nb["cells"][1]["source"])
    assert f"os.chdir({json.dumps(str(tmp_path.resolve()))})" in code
    assert 'import_module("my_flows")' in code
    assert 'RegistryView(workflows_in(vars(module), "reg", module="my_flows"))' in code


def test_playground_notebook_code_runs(tmp_path, monkeypatch):
    (tmp_path / "my_flows.py").write_text(
        "from flownb import Registry\n"
        "from nb_workflows import review_workflow\n"
        "reg = Registry(workflows={'review': review_workflow()})\n")
    path = playground_notebook(tmp_path / ".flownb" / "pg.ipynb", "my_flows", root=tmp_path)
    code = "".join(json.loads(path.read_text())["cells"][1]["source"])
    monkeypatch.chdir("/")
    namespace: dict = {}
    exec(compile(code.replace("RegistryView(", "view = RegistryView("), "pg", "exec"),
         namespace)
    assert list(namespace["view"].panels) == ["review"]
    assert Path.cwd() == tmp_path.resolve()


def test_flow_playground_magic(monkeypatch):
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "flownb")
    ip.user_ns["reg"] = registry()
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    try:
        assert ip.run_cell("%flow playground reg").success
        assert list(shown[0].panels) == ["review", "approvals"]
        assert not ip.run_cell("%flow playground nope").success
    finally:
        ip.user_ns.pop("reg")
