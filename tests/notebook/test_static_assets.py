"""The front end's code reaches the browser once per kernel: every flownb widget's ES module is
the loader, and the kernel's one ``Assets`` widget holds each bundle a widget has used."""

from __future__ import annotations

import json
import re

import ipywidgets as widgets
import pytest
from nb_workflows import review_workflow

from flownb.notebook import Inbox, InputForm, RunView, _static
from flownb.notebook._static import BUNDLES, STATIC, Assets, bundle, shared_assets


@pytest.fixture
def fresh_assets(monkeypatch):
    """No assets widget yet, as in a kernel where no flownb widget was made."""
    monkeypatch.setattr(_static, "_shared", None)


def test_every_bundle_is_its_files_in_order():
    for name, (esm, css) in BUNDLES.items():
        assert esm[0] == "parts.js"  # the parts first: the widget's file uses them
        got = bundle(name)
        assert got["esm"] == "\n".join((STATIC / f).read_text(encoding="utf-8") for f in esm)
        assert got["css"] == "\n".join((STATIC / f).read_text(encoding="utf-8") for f in css)
        assert "export default { render }" in got["esm"]


def test_each_widget_carries_the_loader_of_its_bundle_not_the_code(fresh_assets):
    wf = review_workflow()
    view, form, inbox = RunView(wf), InputForm(wf), Inbox()
    for widget, name in ((view, "live"), (form, "forms"), (inbox, "inbox")):
        assert widget._esm.startswith(f"const BUNDLE = {json.dumps(name)};\n")
        assert widget._esm.endswith((STATIC / "loader.js").read_text(encoding="utf-8"))
        assert len(widget._esm) < 3_000 < len(bundle(name)["esm"])
        assert not hasattr(widget, "_css")  # the loader adds the bundle's sheet itself
    assets = view._assets
    assert form._assets is assets and inbox._assets is assets  # one for the kernel
    assert set(assets.bundles) == {"live", "forms", "inbox"}  # only those used so far
    assert assets.bundles["forms"] == bundle("forms")
    for widget in (view, form, inbox):
        widget.close()


def test_the_widgets_state_refers_to_the_assets_and_holds_no_bundle(fresh_assets):
    view = RunView(review_workflow())
    state = view.get_state()
    assert state["_assets"] == f"IPY_MODEL_{view._assets.model_id}"
    text = json.dumps(state)
    assert "attachWidget" not in text and "--jp-layout-color1" not in text
    assert "attachWidget" in json.dumps(view._assets.get_state())
    view.close()


def test_a_bundle_is_sent_when_first_needed_and_once(fresh_assets):
    assets = shared_assets("live")
    sent: list[list[str]] = []
    assets.observe(lambda change: sent.append(sorted(change["new"])), "bundles")
    assert shared_assets("live") is assets and sent == []
    shared_assets("forms")
    shared_assets("forms")
    assert sent == [["forms", "live"]]


def test_closed_assets_are_made_again(fresh_assets):
    first = shared_assets("live")
    widgets.Widget.close_all()  # what a user may do to clear a kernel's widgets
    assert first.comm is None
    second = shared_assets("inbox")
    assert second is not first and second.comm is not None
    assert set(second.bundles) == {"inbox"}
    view = RunView(review_workflow())
    assert view._assets is second and set(second.bundles) == {"inbox", "live"}
    view.close()


def test_the_loader_imports_nothing_from_the_network():
    loader = (STATIC / "loader.js").read_text(encoding="utf-8")
    assert not re.search(r"https?:", loader)
    assert "get_model" in loader and "createObjectURL" in loader
    assert isinstance(shared_assets("live"), Assets)
