"""Shared fixtures: every test gets a fresh in-memory default store and a clean cwd."""

from __future__ import annotations

import pytest

import flownb
from flownb import config


@pytest.fixture(autouse=True)
def _isolated_storage(tmp_path, monkeypatch):
    """Runs go to a fresh MemoryStore unless a test sets its own storage; step reuse is
    off (``configure(cache=...)``'s default) in every test that does not turn it on."""
    from flownb.storage import MemoryStore

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWNB_STORAGE", raising=False)
    store = MemoryStore()
    flownb.configure(storage=store)
    yield store
    monkeypatch.setattr(config, "_configured", config._UNSET)
    flownb.configure(cache=None)


@pytest.fixture
def store(_isolated_storage):
    """The MemoryStore this test's runs are written to."""
    return _isolated_storage
