"""The course in ``notebooks/``: each notebook runs top to bottom on a fresh kernel (its
``assert`` cells are the test), and is committed executed, with small outputs and the widget
state that lets GitHub and nbviewer show its live views.

The notebooks run in a copy of ``notebooks/``, with ``FLOWNB_STORAGE`` in the test's temporary
folder, so a test run writes nothing into the repository.
"""

from __future__ import annotations

import importlib.util
import sys

import nbformat
import pytest
from nbrun import (
    REPO,
    add_kernel,
    copy_notebooks,
    course_notebooks,
    run_notebook,
    use_kernels,
)

NOTEBOOKS = course_notebooks()
IDS = [path.name for path in NOTEBOOKS]
STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
# bytes. The flownb widgets' code is saved once (the assets widget: a live view's bundle is
# about 59 KB of JSON, the forms' about 29 KB), each widget adds its loader (~2 KB) and its
# state: the course's largest, 03 with three live views and four forms, is about 215 KB
# (about 400 KB when each widget carried its own code).
MAX_SIZE = 320 * 1024


def test_the_course_is_there():
    names = [path.name for path in NOTEBOOKS]
    for expected in ("01-quickstart.ipynb", "02-control-flow.ipynb",
                     "03-human-in-the-loop.ipynb", "04-streaming-and-events.ipynb",
                     "05-a-real-pipeline.ipynb", "07-exploring.ipynb"):
        assert expected in names


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_top_to_bottom_on_a_fresh_kernel(path, tmp_path, monkeypatch):
    use_kernels(monkeypatch, add_kernel(tmp_path / "kernels", sys.executable))
    monkeypatch.setenv("FLOWNB_STORAGE", str(tmp_path / "runs.db"))
    work = copy_notebooks(tmp_path / "notebooks")

    seconds = run_notebook(work / path.name)

    print(f"{path.name}: {seconds:.1f} s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_committed_executed_with_its_widget_state(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    # executed in one go, top to bottom
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), \
        f"{path.name}: run scripts/execute_notebooks.py {path.relative_to(REPO)}"
    outputs = [output for cell in code for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    views = {o.data[VIEW_MIME]["model_id"] for o in outputs if VIEW_MIME in o.get("data", {})}
    if views:
        saved = nb.metadata.get("widgets", {}).get(STATE_MIME, {}).get("state", {})
        assert views <= set(saved), f"{path.name}: widget outputs without saved state"
    assert path.stat().st_size <= MAX_SIZE, f"{path.name}: outputs too large to commit"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_saves_the_front_end_code_once(path):
    from flownb.notebook._static import BUNDLES, _loader, bundle

    nb = nbformat.read(path, as_version=4)
    saved = nb.metadata.get("widgets", {}).get(STATE_MIME, {}).get("state", {})
    states = [entry["state"] for entry in saved.values()]
    assets = [state for state in states if "bundles" in state]
    flownb = [state for state in states if state.get("_assets")]
    assert len(assets) == (1 if flownb else 0), f"{path.name}: one assets widget"
    if not flownb:
        return
    held = assets[0]["bundles"]
    for state in flownb:  # each widget: the current loader of a bundle held, no code
        name = next(name for name in BUNDLES if state["_esm"] == _loader(name))
        assert name in held and "_css" not in state
    for name, entry in held.items():
        assert entry == bundle(name), f"{path.name}: re-run scripts/execute_notebooks.py"


def _execute_script():
    spec = importlib.util.spec_from_file_location("execute_notebooks",
                                                  REPO / "scripts" / "execute_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_execute_script_saves_only_the_widget_state_outputs_need(tmp_path, monkeypatch):
    use_kernels(monkeypatch, add_kernel(tmp_path / "kernels", sys.executable, name="python3"))
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import ipywidgets as widgets\n"
                                  "shown = widgets.IntSlider(value=7, description='seven')\n"
                                  "hidden = widgets.Text(value='not displayed')\n"
                                  "shown"),
        nbformat.v4.new_code_cell("shown.value = 8"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    path = tmp_path / "widgets.ipynb"
    nbformat.write(nb, path)

    _execute_script().execute(path)

    saved = nbformat.read(path, as_version=4)
    assert [cell.execution_count for cell in saved.cells] == [1, 2]
    state = saved.metadata["widgets"][STATE_MIME]["state"]
    by_name = {entry["model_name"]: entry["state"] for entry in state.values()}
    assert set(by_name) == {"IntSliderModel", "SliderStyleModel", "LayoutModel"}  # no Text
    slider = by_name["IntSliderModel"]
    assert slider["value"] == 8  # the state at the end, not when it was displayed
    assert slider["description"] == "seven"
    assert "max" not in slider and "disabled" not in slider  # defaults are left out
    assert by_name["LayoutModel"] == {}
    view = saved.cells[0].outputs[0].data[VIEW_MIME]["model_id"]
    assert state[view]["model_name"] == "IntSliderModel"
    assert "execution" not in saved.cells[0].metadata  # no per-cell timings


@pytest.mark.slow
def test_a_saved_notebook_shows_the_end_of_a_run_displayed_in_an_earlier_cell(
        tmp_path, monkeypatch):
    """Run by nbclient (no front end draws the views), a run displayed in one cell and run
    in a later one is saved with the HTML of its end beside the widget: what GitHub shows.
    A run displayed and run in one cell keeps the HTML it was displayed with."""
    use_kernels(monkeypatch, add_kernel(tmp_path / "kernels", sys.executable, name="python3"))
    monkeypatch.setenv("FLOWNB_STORAGE", str(tmp_path / "runs.db"))
    setup = (
        "from pydantic import BaseModel\n"
        "from IPython.display import display\n"
        "from flownb import create_step, create_workflow\n"
        "class Doc(BaseModel):\n"
        "    text: str\n"
        "wf = (create_workflow(id='saved-flow', input_schema=Doc, output_schema=Doc)\n"
        "      .then(create_step(id='shout', input_schema=Doc, output_schema=Doc,\n"
        "                        execute=lambda input_data: {'text': input_data.text + '!'}))\n"
        "      .commit())\n"
        "run = wf.create_run()\n"
        "run")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(setup),
        nbformat.v4.new_code_cell("result = await run.start({'text': 'hi'})"),
        nbformat.v4.new_code_cell("other = wf.create_run()\ndisplay(other)\n"
                                  "_ = await other.start({'text': 'again'})"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)

    _execute_script().execute(path)

    saved = nbformat.read(path, as_version=4)
    first = next(o.data for o in saved.cells[0].outputs if VIEW_MIME in o.get("data", {}))
    assert "status='success'" in first["text/plain"]
    assert "flownb-step-table" in first["text/html"] and "hi!" in first["text/html"]
    same_cell = next(o.data for o in saved.cells[2].outputs if VIEW_MIME in o.get("data", {}))
    assert "live view" in same_cell["text/html"] and "status='pending'" in same_cell["text/plain"]
