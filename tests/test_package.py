"""The package surface: light import, every public name, the Registry."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from pydantic import BaseModel

import flownb
from flownb import Registry, create_step, create_workflow
from flownb.storage import MemoryStore


def test_import_flownb_loads_no_heavy_layer():
    code = ("import sys, flownb; wf = flownb.create_workflow(id='w'); "
            "heavy = {'ipywidgets', 'IPython', 'graphviz', 'rich', 'dask', 'distributed'} "
            "& set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_resolves():
    for name in flownb.__all__:
        assert getattr(flownb, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        flownb.nope  # noqa: B018


def test_errors_are_one_tree():
    from flownb import errors

    assert issubclass(errors.SchemaMismatchError, errors.WorkflowDefinitionError)
    for name in ("WorkflowDefinitionError", "InputValidationError", "ResumeValidationError",
                 "ResumeError", "ConcurrentRunError", "RunNotFoundError", "StorageError"):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.FlownbError) and getattr(flownb, name) is cls
    err = errors.ResumeError("boom", workflow_id="w", step_path="a.b")
    assert err.message == "boom" and str(err) == "boom" and err.step_path == "a.b"


class City(BaseModel):
    city: str


def city_workflow(storage=None):
    step1 = create_step(id="step-1", input_schema=City, output_schema=City,
                        execute=lambda input_data: {"city": f"{input_data.city} + step-1"})
    return (create_workflow(id="test-workflow", input_schema=City, output_schema=City,
                            storage=storage)
            .then(step1).commit())


def test_registry_hands_its_storage_and_logger_to_its_workflows():
    shared, own = MemoryStore(), MemoryStore()
    a, b = city_workflow(), city_workflow(storage=own)
    registry = Registry(workflows={"testWorkflow": a, "mine": b}, storage=shared,
                        logger="info")
    assert registry.workflows == {"testWorkflow": a, "mine": b}
    assert a.storage is shared and b.storage is own
    assert a.logger is logging.getLogger("flownb") and a.logger.level == logging.INFO
    result = registry.get_workflow("testWorkflow").invoke({"city": "London"})
    assert result.to_dict()["result"] == {"city": "London + step-1"}
    assert shared.load(result.run_id) is not None


def test_registry_get_workflow_lists_known_names():
    registry = Registry(workflows={"testWorkflow": city_workflow()})
    with pytest.raises(KeyError, match="'nope'.*known: 'testWorkflow'"):
        registry.get_workflow("nope")
    assert list(registry) == ["testWorkflow"] and len(registry) == 1


def test_registry_logger_records_transitions_and_failures(caplog):
    def boom(input_data: City):
        raise ValueError("no such city")

    bad = create_step(id="bad", input_schema=City, output_schema=City, execute=boom)
    failing = create_workflow(id="failing", input_schema=City).then(bad).commit()
    logger = logging.getLogger("flownb.test-registry")
    registry = Registry(workflows={"ok": city_workflow(), "failing": failing}, logger=logger)
    with caplog.at_level(logging.INFO, logger="flownb.test-registry"):
        registry.get_workflow("ok").invoke({"city": "Paris"})
        registry.get_workflow("failing").invoke({"city": "Nowhere"})
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("step 'step-1' started" in m for m in infos)
    assert any("step 'step-1' success" in m for m in infos)
    assert any("finished: success" in m for m in infos)
    assert any("step 'bad' failed: ValueError: no such city" in m for m in errors)
    assert any(" of failing failed: " in m and "'bad'" in m for m in errors)


def test_registry_rejects_bad_level_and_non_workflows():
    with pytest.raises(ValueError, match="unknown log level"):
        Registry(logger="loud")
    with pytest.raises(TypeError, match="must be a Workflow"):
        Registry(workflows={"x": object()})  # type: ignore[dict-item]
