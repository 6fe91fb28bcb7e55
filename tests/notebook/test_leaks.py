"""Nothing of a displayed run outlives its view: closed and dropped, the view, its widgets,
its feeds and the run itself all go (ipywidgets keeps every *open* widget, and what it
holds, for the kernel's life; flownb must not keep anything beyond that)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
from ipywidgets.widgets.widget import _instances  # ipywidgets 8's registry of open widgets
from nb_workflows import review_workflow

from flownb.notebook import RunView
from flownb.notebook.playground import WorkflowPanel
from flownb.storage import MemoryStore


def gone(ref: weakref.ref[Any]) -> bool:
    gc.collect()
    return ref() is None


@pytest.fixture
def registry():
    """The widgets open before the test; each test leaves the registry as it found it."""
    before = set(_instances)
    yield before
    assert set(_instances) == before


async def test_a_displayed_run_closed_and_dropped_goes(registry, monkeypatch):
    monkeypatch.setattr("flownb.notebook.display.in_kernel", lambda: True)
    run = review_workflow().create_run()
    bundle = run._repr_mimebundle_()  # how Jupyter displays a run: its one live view
    assert "application/vnd.jupyter.widget-view+json" in bundle
    view = RunView.of(run)
    await run.start({"text": "x"})
    assert view.resume_forms  # the run waits: a form is open too
    view.close()
    assert set(_instances) == registry
    ref = weakref.ref(run)
    view_ref = weakref.ref(view)
    del run, view, bundle
    assert gone(ref) and gone(view_ref)


async def test_an_open_view_keeps_its_run_and_is_shown_again(registry):
    run = review_workflow().create_run()
    view = RunView.of(run)
    view_ref = weakref.ref(view)
    del view
    gc.collect()
    # Open, it stays (ipywidgets keeps it for its front end) and displaying again reuses it.
    assert RunView.of(run) is view_ref()
    view_ref().close()  # type: ignore[union-attr]
    again = RunView.of(run)  # closed: the next display makes a new one
    assert again is not view_ref() and not again.closed
    again.close()
    ref = weakref.ref(run)
    del run, again
    assert gone(ref) and gone(view_ref)


async def test_a_view_of_a_workflow_lets_go_of_each_run_it_followed(registry):
    wf = review_workflow()
    view = RunView(wf)
    first = weakref.ref(view.run)
    await wf.create_run().start({"text": "a"})
    assert gone(first)  # it follows the new run: the first one is nobody's now
    view.close()
    followed = weakref.ref(view.run)
    del view
    assert gone(followed) and wf._run_callbacks == []


async def test_a_playground_panel_closed_and_dropped_leaves_nothing(registry):
    store = MemoryStore()
    wf = review_workflow(storage=store)
    done = await wf.create_run().start({"text": "stored"})  # a stored run to open
    panel = WorkflowPanel(wf)
    run = wf.create_run()  # the panel follows every run of its workflow until it finishes
    assert run._ex.buffer is not None
    view = panel.open_run(done.run_id)
    assert view is not None and view.run is not None
    opened = weakref.ref(view.run)
    panel.close()
    assert set(_instances) == registry
    assert run._ex.buffer is None  # no feed left counting its events
    assert wf._run_callbacks == []
    refs = [weakref.ref(panel), weakref.ref(view), opened]
    del panel, view
    assert all(gone(ref) for ref in refs)
