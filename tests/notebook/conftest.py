"""The notebook tests' shared set-up."""

from __future__ import annotations

import pytest

from flownb.notebook._static import BUNDLES, shared_assets


@pytest.fixture(autouse=True)
def _kernel_assets():
    """The kernel's one ``Assets`` widget, holding every bundle, exists before a test starts:
    it lives as long as the kernel, so the tests that check a closed view leaves ipywidgets'
    registry as it found it do not see it come."""
    for name in BUNDLES:
        shared_assets(name)
