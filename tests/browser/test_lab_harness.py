"""The harness itself: the kernel is the venv's, widgets render, failures are reported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lab import NotebookError, screenshot


def test_kernel_is_the_venv_python_with_temp_storage_and_widgets(open_notebook, lab_server,
                                                                   expect):
    nb = open_notebook("harness.ipynb")
    nb.run_all()

    lines = dict(line.split(" ", 1) for line in nb.output_text(0).splitlines())
    assert Path(lines["prefix"]) == Path(sys.prefix)
    assert Path(lines["storage"]) == lab_server.storage
    assert Path(lines["flownb"]).is_relative_to(Path(__file__).resolve().parents[2] / "flownb")

    # A widget output is a view of a kernel-side model, drawn by the jupyterlab_widgets
    # extension; without the extension the output shows only the model's text repr.
    slider = nb.output(1).locator(".widget-slider")
    expect(slider).to_be_visible()
    expect(slider.locator(".widget-label")).to_have_text("seven")
    expect(slider.locator(".widget-readout")).to_have_text("7")
    expect(nb.output(1)).not_to_contain_text("IntSlider(")
    screenshot(nb.cell(1), "harness-widget")


def test_run_all_reports_errors_stderr_and_cells_left_unrun(open_notebook, expect):
    failing = open_notebook("fails.ipynb")

    with pytest.raises(NotebookError) as failure:
        failing.run_all()

    message = str(failure.value)
    assert "cell 0 wrote to stderr:\ncareful: about to fail" in message
    assert "cell 1 raised ValueError: boom from the notebook" in message
    assert 'raise ValueError("boom from the notebook")' in message  # the traceback
    assert "\x1b[" not in message
    assert 'cell 2 did not run: print("never printed")' in message

    # A second notebook opens in the same page, in a tab of its own, with its own kernel.
    clean = open_notebook("harness.ipynb")
    clean.run_all()
    assert clean.panel_id != failing.panel_id
    expect(clean.output(0)).to_contain_text("prefix ")
    failing.activate()
    expect(failing.output(1)).to_contain_text("ValueError: boom from the notebook")
    expect(clean.output(1)).to_be_hidden()
