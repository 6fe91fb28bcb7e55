"""Hostile values and ids through every boundary (SPEC §1 ids and "What is stored must
replay", §3 start/resume/stream, §5 errors).

Generated values go through a step's output (schema ``Any``, and a model field of type
``Any``), a suspend payload, ``set_state``, ``emit``, resume data and the workflow input, on
``MemoryStore`` and ``SQLiteStore``, through ``start`` and through ``stream``. The contract:

* nothing raises except the errors §5 names for bad input/resume data;
* ``run.status == result.status == store.load(run_id).status``, the stream ends with
  ``workflow-finish``, and what the store holds is strict JSON;
* a value that cannot be stored fails *that step* (the error names it);
* a value that can be stored replays: a run reattached with ``create_run(run_id=...)``
  resumes to success and hands back an equal value.

Values are drawn as *recipes* (``("special", "object")``, ``("deep", 900)``, JSON-ish data
around them) and built inside the test, so a failing example prints readably.
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from flownb import (
    InputValidationError,
    ResumeValidationError,
    WorkflowDefinitionError,
    create_step,
    create_workflow,
)
from flownb.storage import MemoryStore, SQLiteStore

FAST = settings(max_examples=20, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

# ---------------------------------------------------------------------------------------
# Hostile values, as recipes
# ---------------------------------------------------------------------------------------


class Opaque:
    """An arbitrary object: not JSON, never storable."""

    def __repr__(self) -> str:
        return "Opaque()"


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


NAN, INF = float("nan"), float("inf")
HUGE = "x" * 1_000_000 + "\u00e9"

SPECIALS: dict[str, Callable[[], Any]] = {
    "object": object,
    "instance": Opaque,
    "lambda": lambda: (lambda: 1),
    "bytes-ff": lambda: b"\xff\xfe not utf-8",
    "surrogate": lambda: "a\udc80b",
    "nan": lambda: NAN,
    "inf": lambda: INF,
    "-inf": lambda: -INF,
    "huge-str": lambda: HUGE,
    "set": lambda: {1, 2, 3},  # small ints iterate in order, so the JSON list is [1, 2, 3]
    "frozenset": lambda: frozenset({4, 5}),
    "tuple": lambda: (1, "two", None),
    "int-keys": lambda: {1: "one", 2: [2]},
    "tuple-keys": lambda: {(1, 2): "pair", (3, 4): "other"},
}
UNSTORABLE_SPECIALS = {"object", "instance", "lambda", "bytes-ff"}
# Storable or not is the encoder's choice for these; either way the run stays consistent.
DEEP_LIMIT = 64  # nesting up to this must be stored; deeper may fail the step
UNDECIDED_SPECIALS = {"tuple-keys"}


def build(recipe: Any) -> Any:
    """The value a recipe describes (tuples are markers; lists and dicts are containers)."""
    if isinstance(recipe, tuple):
        kind, arg = recipe
        return SPECIALS[arg]() if kind == "special" else _nested(arg)
    if isinstance(recipe, list):
        return [build(r) for r in recipe]
    if isinstance(recipe, dict):
        return {k: build(r) for k, r in recipe.items()}
    return recipe


def classify(recipe: Any) -> str:
    """"unstorable" (must fail the step), "undecided" (may fail it) or "storable"."""
    found = set()

    def walk(r: Any, depth: int) -> None:
        if isinstance(r, tuple):
            kind, arg = r
            if kind == "deep":
                found.add("deep" if depth + arg > DEEP_LIMIT else "ok")
            else:
                found.add(arg)
        elif isinstance(r, list):
            for x in r:
                walk(x, depth + 1)
        elif isinstance(r, dict):
            for x in r.values():
                walk(x, depth + 1)

    walk(recipe, 0)
    if found & UNSTORABLE_SPECIALS:
        return "unstorable"
    if found & (UNDECIDED_SPECIALS | {"deep"}):
        return "undecided"
    return "storable"


def _comparable(recipe: Any) -> bool:
    """Whether a stored value can be compared with the original (tuple keys: encoder's
    choice of key text)."""
    text = repr(recipe)
    return "tuple-keys" not in text


json_leaves = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
               | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
specials = (st.sampled_from(sorted(SPECIALS)).map(lambda name: ("special", name))
            | st.integers(300, 1200).map(lambda depth: ("deep", depth)))
recipes = st.one_of(
    specials,
    st.recursive(json_leaves | specials,
                 lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                 max_leaves=5),
)

# ---------------------------------------------------------------------------------------
# Comparing what came back (iteratively: values nest 1200 deep)
# ---------------------------------------------------------------------------------------

_FLOAT_WORDS = {"NaN": "<nan>", "Infinity": "<inf>", "-Infinity": "<-inf>"}


def _leaf(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return "<nan>"
        if math.isinf(value):
            return "<inf>" if value > 0 else "<-inf>"
    if isinstance(value, str) and value in _FLOAT_WORDS:
        # under an ``Any`` schema NaN/Infinity may come back as these strings
        return _FLOAT_WORDS[value]
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value


def _str_keys(mapping: dict[Any, Any]) -> dict[Any, Any]:
    return {str(k) if isinstance(k, int) else k: v for k, v in mapping.items()}


def same(original: Any, got: Any) -> bool:
    """``got`` is ``original`` as JSON gives it back: tuples and sets as lists, int keys as
    strings, NaN/±inf as floats or as the strings "NaN"/"Infinity"/"-Infinity"."""
    stack = [(original, got)]
    while stack:
        a, b = stack.pop()
        a, b = _leaf(a), _leaf(b)
        if isinstance(a, (list, tuple)):
            if not isinstance(b, (list, tuple)) or len(a) != len(b):
                return False
            stack.extend(zip(a, b, strict=True))
        elif isinstance(a, dict):
            if not isinstance(b, dict):
                return False
            a, b = _str_keys(a), _str_keys(b)
            if set(a) != set(b):
                return False
            stack.extend((v, b[k]) for k, v in a.items())
        else:
            numbers = isinstance(a, (int, float)) and isinstance(b, (int, float))
            if (type(a) is not type(b) and not numbers) or a != b:
                return False
    return True


def test_same_compares_json_round_trips():
    assert same([(1, 2), {3: NAN}], [[1, 2], {"3": "NaN"}])
    assert same({"x": INF, "y": -INF}, {"x": INF, "y": "-Infinity"})
    assert not same({"x": NAN}, {"x": None})
    assert not same([1, 2], [2, 1])
    assert same(_nested(1200), _nested(1200))


# ---------------------------------------------------------------------------------------
# Stores, driving a run, consistency
# ---------------------------------------------------------------------------------------


class Stores:
    """The store a run is made with, and a store to reattach from (a fresh SQLiteStore on
    the same file, so the reattached run reads what is on disk)."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.path = tmp_path / "x.db"
        self.opened: list[Any] = []
        self.first = self.reopen() if kind == "sqlite" else MemoryStore()
        self._checker: Any = None

    @property
    def checker(self) -> Any:
        """A store that reads what is stored (for SQLite: its own connection to the file)."""
        if self._checker is None:
            self._checker = self.reopen()
        return self._checker

    def reopen(self) -> Any:
        if self.kind != "sqlite":
            return self.first
        store = SQLiteStore(self.path)
        self.opened.append(store)
        return store

    def close(self) -> None:
        for store in self.opened:
            store.close()


def _reject_constant(token: str) -> Any:
    raise ValueError(f"bare {token} token in stored JSON")


# The columns of the SQLite layout that hold JSON; the others hold ids, statuses, keys and
# paths, which a hostile step id may make start with "{" or "[" (not JSON, and need not be).
_JSON_COLUMNS = frozenset({"suspended", "input", "graph", "input_refs", "graph_refs", "meta",
                           "refs", "data"})


def assert_stored_strict_json(stores: Stores, run_id: str) -> None:
    """What the store holds is RFC 8259 JSON: no NaN/Infinity tokens, nothing else."""
    snap = stores.checker.load(run_id)
    assert snap is not None
    json.dumps(snap.to_json(), allow_nan=False)
    if stores.kind == "sqlite":
        conn = sqlite3.connect(f"file:{stores.path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            checked = 0
            for table in tables:
                cursor = conn.execute(f'SELECT * FROM "{table}"')
                columns = [d[0] for d in cursor.description]
                for row in cursor:
                    for column, cell in zip(columns, row, strict=True):
                        if column in _JSON_COLUMNS and cell is not None:
                            json.loads(cell, parse_constant=_reject_constant)
                            checked += 1
            assert checked  # the layout's JSON columns are still these
        finally:
            conn.close()


def assert_consistent(run: Any, result: Any, stores: Stores) -> None:
    snap = stores.checker.load(run.run_id)
    assert snap is not None, "the run is not stored"
    assert run.status == result.status == snap.status, (run.status, result.status, snap.status)
    json.dumps(result.to_dict())
    assert_stored_strict_json(stores, run.run_id)


def assert_failed_naming(run: Any, result: Any, stores: Stores, step_id: str,
                         field: str | None = None) -> None:
    assert result.status == "failed", (result.status, result.error)
    assert step_id in (result.error or ""), result.error
    if field is not None:
        assert field in result.error, result.error
    assert_consistent(run, result, stores)


async def drive(run: Any, mode: str, *, start: Any = None, resume: Any = None,
                step: Any = None, resuming: bool = False) -> tuple[Any, list[Any]]:
    """``start``/``resume`` the run, or the same through ``stream``/``stream_resume``."""
    if mode == "start":
        result = await (run.resume(resume, step=step) if resuming else run.start(start))
        return result, []
    iterator = run.stream_resume(resume, step=step) if resuming else run.stream(start)
    events = [event async for event in iterator]
    assert events, "the stream sent nothing"
    assert events[-1].type == "workflow-finish", [e.type for e in events]
    assert [e.type for e in events].count("workflow-finish") == 1
    for event in events:
        json.dumps(event.to_dict())  # SPEC §3: every event is JSON-serializable
    assert run.result is not None
    return run.result, events


def resumer(source: str, out_schema: Any = Any, in_schema: Any = Any, *, step_id: str = "hold",
            read: str = "step"):
    """A step that suspends, and on resume returns what it was told to read."""

    async def execute(input_data, resume_data, suspend, get_step_result, get_init_data, state):
        if resume_data is None:
            suspend(None)
        if read == "init":
            return get_init_data()
        if read == "state":
            return state
        return get_step_result(source)

    return create_step(id=step_id, input_schema=in_schema, output_schema=out_schema,
                       execute=execute)


GO = {"go": True}


# ---------------------------------------------------------------------------------------
# The boundaries
# ---------------------------------------------------------------------------------------


class Box(BaseModel):
    cargo: Any


async def _suspend_then_replay(recipe: Any, stores: Stores, mode: str,
                               make: Callable[[Any, Any], Any], *, start: Any = None,
                               fail_step: str, fail_field: str | None = None,
                               replayed: Callable[[Any, Any], Any]) -> None:
    """Start (the run should suspend at "hold" or fail at ``fail_step``), reattach with a
    fresh definition from the store, resume, and compare what replays."""
    value = build(recipe)
    kind = classify(recipe)
    wf = make(value, stores.first)
    run = wf.create_run()
    result, _ = await drive(run, mode, start=start)
    if kind == "unstorable" or (kind == "undecided" and result.status == "failed"):
        assert_failed_naming(run, result, stores, fail_step, fail_field)
        return
    assert result.status == "suspended", (result.status, result.error)
    assert result.suspended == [["hold"]]
    assert_consistent(run, result, stores)

    store2 = stores.reopen()
    again = make(None, store2).create_run(run_id=run.run_id)  # the value is not needed again
    assert again.status == "suspended"
    final, _ = await drive(again, mode, resume=GO, resuming=True)
    assert final.status == "success", final.error
    assert_consistent(again, final, stores)
    if _comparable(recipe):
        assert same(value, replayed(final, again)), f"{recipe!r} did not replay"


def _make_output_any(value: Any, store: Any) -> Any:
    async def produce(input_data):
        return value

    return (create_workflow(id="hostile-output", input_schema=Any, output_schema=Any,
                            storage=store)
            .then(create_step(id="produce", input_schema=Any, output_schema=Any,
                              execute=produce))
            .then(resumer("produce"))
            .commit())


def _make_output_model(value: Any, store: Any) -> Any:
    async def produce(input_data):
        return {"cargo": value}

    return (create_workflow(id="hostile-model", input_schema=Any, output_schema=Box,
                            storage=store)
            .then(create_step(id="produce", input_schema=Any, output_schema=Box,
                              execute=produce))
            .then(resumer("produce", Box, Box))
            .commit())


def _make_state(value: Any, store: Any) -> Any:
    async def stateful(input_data, set_state):
        set_state(value)
        return "set"

    return (create_workflow(id="hostile-state", input_schema=Any, output_schema=Any,
                            storage=store)
            .then(create_step(id="stateful", input_schema=Any, output_schema=Any,
                              execute=stateful))
            .then(resumer("stateful", read="state"))
            .commit())


def _make_emit(value: Any, store: Any) -> Any:
    async def talker(input_data, emit):
        emit(value)
        return "said"

    return (create_workflow(id="hostile-emit", input_schema=Any, output_schema=Any,
                            storage=store)
            .then(create_step(id="talker", input_schema=Any, output_schema=Any,
                              execute=talker))
            .then(resumer("talker"))
            .commit())


def _make_input(value: Any, store: Any) -> Any:
    return (create_workflow(id="hostile-input", input_schema=Any, output_schema=Any,
                            storage=store)
            .then(resumer("", read="init"))
            .commit())


async def check_output_any(recipe: Any, stores: Stores, mode: str) -> None:
    await _suspend_then_replay(recipe, stores, mode, _make_output_any, fail_step="produce",
                               replayed=lambda result, run: result.result)


async def check_output_model(recipe: Any, stores: Stores, mode: str) -> None:
    await _suspend_then_replay(recipe, stores, mode, _make_output_model, fail_step="produce",
                               fail_field="cargo",
                               replayed=lambda result, run: result.result.cargo)


async def check_state(recipe: Any, stores: Stores, mode: str) -> None:
    await _suspend_then_replay(recipe, stores, mode, _make_state, fail_step="stateful",
                               replayed=lambda result, run: result.result)


async def check_emit(recipe: Any, stores: Stores, mode: str) -> None:
    value = build(recipe)
    kind = classify(recipe)
    run = _make_emit(value, stores.first).create_run()
    result, events = await drive(run, mode)
    if kind == "unstorable" or (kind == "undecided" and result.status == "failed"):
        assert_failed_naming(run, result, stores, "talker")
        assert not [e for e in events if e.type == "step-output"]
        return
    assert result.status == "suspended", (result.status, result.error)
    assert_consistent(run, result, stores)
    if mode == "stream" and _comparable(recipe):
        [said] = [e for e in events if e.type == "step-output"]
        assert said.path == ("talker",)
        payload = said.payload
        assert same(value, payload) or (isinstance(payload, dict)
                                        and same(value, payload.get("value")))
    again = _make_emit(None, stores.reopen()).create_run(run_id=run.run_id)
    final, _ = await drive(again, mode, resume=GO, resuming=True)
    assert final.status == "success", final.error
    assert final.result == "said"
    assert_consistent(again, final, stores)


async def check_input(recipe: Any, stores: Stores, mode: str) -> None:
    value = build(recipe)
    kind = classify(recipe)
    wf = _make_input(value, stores.first)
    run = wf.create_run()
    stored_before = len(wf.runs())
    try:
        result, _ = await drive(run, mode, start=value)
    except InputValidationError:
        assert kind != "storable", f"{recipe!r} is JSON data but was refused"
        assert stores.checker.load(run.run_id) is None, "refused input was stored"
        assert len(wf.runs()) == stored_before
        return
    assert kind != "unstorable", f"{recipe!r} cannot be stored but start() accepted it"
    assert result.status == "suspended", (result.status, result.error)
    assert_consistent(run, result, stores)
    again = _make_input(None, stores.reopen()).create_run(run_id=run.run_id)
    final, _ = await drive(again, mode, resume=GO, resuming=True)
    assert final.status == "success", final.error
    assert_consistent(again, final, stores)
    if _comparable(recipe):
        assert same(value, final.result)


def _make_suspend_payload(value: Any, store: Any) -> Any:
    async def ask(input_data, resume_data, suspend):
        if resume_data is None:
            suspend(value)
        return "answered"

    return (create_workflow(id="hostile-suspend", input_schema=Any, output_schema=Any,
                            storage=store)
            .then(create_step(id="ask", input_schema=Any, output_schema=Any, execute=ask))
            .commit())


async def check_suspend_payload(recipe: Any, stores: Stores, mode: str) -> None:
    value = build(recipe)
    kind = classify(recipe)
    run = _make_suspend_payload(value, stores.first).create_run()
    result, events = await drive(run, mode)
    if kind == "unstorable" or (kind == "undecided" and result.status == "failed"):
        assert_failed_naming(run, result, stores, "ask")
        return
    assert result.status == "suspended", (result.status, result.error)
    assert result.suspended == [["ask"]]
    assert_consistent(run, result, stores)
    if mode == "stream":
        assert [e.type for e in events][-2:] == ["workflow-suspended", "workflow-finish"]
    again = _make_suspend_payload(None, stores.reopen()).create_run(run_id=run.run_id)
    assert again.status == "suspended"
    if _comparable(recipe):
        assert same(value, again.steps["ask"].suspend_payload), f"{recipe!r}"
    final, _ = await drive(again, mode, resume=GO, resuming=True)
    assert final.status == "success", final.error
    assert final.result == "answered"
    assert_consistent(again, final, stores)


def _make_resume_data(store: Any) -> Any:
    asked: set[str] = set()

    async def ask(input_data, resume_data, suspend, run_id):
        # Resume data may be None itself: suspend on the first call, not on None.
        if run_id not in asked:
            asked.add(run_id)
            suspend({"question": "anything?"})
        return resume_data

    return (create_workflow(id="hostile-resume", input_schema=Any, output_schema=Any,
                            storage=store)
            .then(create_step(id="ask", input_schema=Any, output_schema=Any, execute=ask))
            .then(resumer("ask"))
            .commit())


async def check_resume_data(recipe: Any, stores: Stores, mode: str) -> None:
    value = build(recipe)
    kind = classify(recipe)
    run = _make_resume_data(stores.first).create_run()
    result, _ = await drive(run, mode)
    assert result.status == "suspended", (result.status, result.error)
    before = stores.checker.load(run.run_id)
    try:
        result, _ = await drive(run, mode, resume=value, step="ask", resuming=True)
    except ResumeValidationError:
        assert kind != "storable", f"{recipe!r} is JSON data but was refused"
        after = stores.checker.load(run.run_id)
        assert after.status == "suspended" and after.version == before.version
        assert after.to_json() == before.to_json()
        assert run.status == "suspended"
        result, _ = await drive(run, mode, resume={"fine": 1}, step="ask", resuming=True)
        recipe = value = {"fine": 1}
    else:
        assert kind != "unstorable", f"{recipe!r} cannot be stored but resume() took it"
    assert result.status == "suspended" and result.suspended == [["hold"]], result.error
    assert_consistent(run, result, stores)
    again = _make_resume_data(stores.reopen()).create_run(run_id=run.run_id)
    final, _ = await drive(again, mode, resume=GO, resuming=True)
    assert final.status == "success", final.error
    assert_consistent(again, final, stores)
    if _comparable(recipe):
        assert same(value, final.result), f"{recipe!r} did not replay"
        assert same(value, again.steps["ask"].resume_payload)


BOUNDARIES: dict[str, Callable[[Any, Stores, str], Any]] = {
    "output-any": check_output_any,
    "output-model-field": check_output_model,
    "set-state": check_state,
    "emit": check_emit,
    "workflow-input": check_input,
    "suspend-payload": check_suspend_payload,
    "resume-data": check_resume_data,
}
STORE_KINDS = ["memory", "sqlite"]


def _check(boundary: str, store_kind: str, recipe: Any, mode: str, tmp_path: Path) -> None:
    stores = Stores(store_kind, tmp_path)
    try:
        asyncio.run(BOUNDARIES[boundary](recipe, stores, mode))
    finally:
        stores.close()


@pytest.mark.parametrize("store_kind", STORE_KINDS)
@pytest.mark.parametrize("boundary", list(BOUNDARIES))
@FAST
@given(recipe=recipes, mode=st.sampled_from(["start", "stream"]))
def test_generated_hostile_values_at_every_boundary(boundary, store_kind, recipe, mode,
                                                    tmp_path):
    _check(boundary, store_kind, recipe, mode, tmp_path)


CATALOG = [("special", name) for name in sorted(SPECIALS)] + [
    ("deep", 300), ("deep", 1200), {"k": [("special", "nan"), ("special", "object")]},
    [("special", "surrogate"), {"s": ("special", "set")}, ("special", "-inf")],
]


@pytest.mark.parametrize("recipe", CATALOG, ids=lambda r: repr(r)[:40])
@pytest.mark.parametrize("boundary", list(BOUNDARIES))
def test_every_hostile_kind_at_every_boundary(boundary, recipe, tmp_path):
    """Each kind once, deterministically (SQLite, through the stream); the generated test
    above mixes them with JSON data, both stores and both entry points."""
    _check(boundary, "sqlite", recipe, "stream", tmp_path)


# ---------------------------------------------------------------------------------------
# Pinned cases
# ---------------------------------------------------------------------------------------


@pytest.fixture(params=STORE_KINDS)
def stores(request, tmp_path):
    s = Stores(request.param, tmp_path)
    yield s
    s.close()


async def test_input_nested_a_thousand_deep_is_invalid_input_and_nothing_is_stored(stores):
    wf = _make_input(None, stores.first)
    run = wf.create_run()
    with pytest.raises(InputValidationError) as info:
        await run.start(_nested(1000))
    assert not isinstance(info.value, ValidationError)
    assert stores.checker.load(run.run_id) is None
    assert wf.runs() == []


@pytest.mark.parametrize("bad", [object(), Opaque(), b"\xff", _nested(1100)],
                         ids=["object", "instance", "bytes", "deep"])
async def test_resume_data_that_is_not_json_is_refused_and_the_run_is_unchanged(stores, bad):
    run = _make_resume_data(stores.first).create_run()
    assert (await run.start(None)).status == "suspended"
    before = stores.checker.load(run.run_id)
    with pytest.raises(ResumeValidationError) as info:
        await run.resume(bad, step="ask")
    assert "ask" in str(info.value)
    after = stores.checker.load(run.run_id)
    assert after.status == "suspended" and after.version == before.version
    assert after.to_json() == before.to_json()
    assert run.status == "suspended"
    result = await run.resume({"good": [1, 2]}, step="ask")
    assert result.status == "suspended" and result.suspended == [["hold"]]
    result = await run.resume(GO)
    assert result.status == "success" and result.result == {"good": [1, 2]}


@pytest.mark.parametrize("bad", sorted(UNSTORABLE_SPECIALS))
async def test_an_unstorable_output_fails_that_step_not_the_caller(stores, bad):
    run = _make_output_model(SPECIALS[bad](), stores.first).create_run()
    result = await run.start(None)
    assert_failed_naming(run, result, stores, "produce", "cargo")
    assert result.steps["produce"].status == "failed"
    assert stores.checker.load(run.run_id).steps["produce"]["status"] == "failed"


async def test_an_input_its_schema_makes_unstorable_fails_that_step(stores):
    """A validator turns a stored value into an object (a client): the step that takes it
    fails naming its input and the field, though its running record showed a placeholder
    (the done record must not reuse that)."""
    from typing import Annotated

    from pydantic import BeforeValidator, ConfigDict

    class Handle(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        client: Annotated[Opaque, BeforeValidator(lambda v: Opaque())]

    wf = (create_workflow(id="handles", input_schema=int, output_schema=int,
                          storage=stores.first)
          .then(create_step(id="first", input_schema=int, output_schema=dict,
                            execute=lambda input_data: {"client": input_data}))
          .then(create_step(id="second", input_schema=Handle, output_schema=int,
                            execute=lambda input_data: 1))
          .commit())
    run = wf.create_run()
    result = await run.start(5)
    assert_failed_naming(run, result, stores, "second", "client")
    assert "its input cannot be stored as JSON" in result.error


@pytest.mark.parametrize("sync", [True, False], ids=["def", "async-def"])
async def test_a_step_raising_generator_exit_fails_the_run_naming_it(stores, sync):
    def closes(input_data):
        raise GeneratorExit("closed under us")

    async def closes_async(input_data):
        raise GeneratorExit("closed under us")

    wf = (create_workflow(id="genexit", input_schema=Any, output_schema=Any,
                          storage=stores.first)
          .then(create_step(id="closer", input_schema=Any, output_schema=Any,
                            execute=closes if sync else closes_async))
          .commit())
    run = wf.create_run()
    result = await run.start(1)
    assert_failed_naming(run, result, stores, "closer")
    run = wf.create_run()
    events = [e async for e in run.stream(1)]
    assert events[-1].type == "workflow-finish"
    assert_failed_naming(run, run.result, stores, "closer")


@pytest.mark.parametrize("value", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
async def test_non_finite_floats_under_a_float_schema_come_back_as_floats(stores, value):
    class Reading(BaseModel):
        level: float

    def make(store):
        return (create_workflow(id="floats", input_schema=Any, output_schema=Reading,
                                storage=store)
                .then(create_step(id="produce", input_schema=Any, output_schema=Reading,
                                  execute=lambda input_data: {"level": value}))
                .then(resumer("produce", Reading, Reading))
                .commit())

    run = make(stores.first).create_run()
    assert (await run.start(None)).status == "suspended"
    assert_stored_strict_json(stores, run.run_id)
    result = await make(stores.reopen()).create_run(run_id=run.run_id).resume(GO)
    assert result.status == "success", result.error
    level = result.result.level
    assert isinstance(level, float)
    assert (math.isnan(level) if math.isnan(value) else level == value)


# ---------------------------------------------------------------------------------------
# Hostile ids (SPEC §1)
# ---------------------------------------------------------------------------------------

BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def id_is_valid(text: str) -> bool:
    return 0 < len(text) <= 200 and not any(
        c in ".[]" or c in BIDI or unicodedata.category(c) == "Cc" for c in text)


TRICKY = list(".[]\x00\x1f\x7f\x85\x9f\t\n") + sorted(BIDI) + list('?@#-:/\\"\'<>& {}*%')
id_alphabet = st.characters(exclude_categories=("Cs",)) | st.sampled_from(TRICKY)
ids = (st.text(alphabet=id_alphabet, max_size=12)
       | st.text(alphabet=id_alphabet, min_size=196, max_size=204))


def _id_workflow(step_id: str, store: Any) -> Any:
    async def asks(input_data, resume_data, suspend):
        if resume_data is None:
            suspend({"who": step_id})
        return f"{input_data}:{resume_data['ok']}"

    tail = "tail" if step_id != "tail" else "tail2"
    return (create_workflow(id=step_id, input_schema=str, output_schema=str, storage=store)
            .then(create_step(id=step_id, input_schema=str, output_schema=str, execute=asks))
            .then(create_step(id=tail, input_schema=str, output_schema=str,
                              execute=lambda input_data: input_data + "!"))
            .commit())


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(step_id=ids)
def test_an_id_is_refused_exactly_when_it_breaks_the_rule_else_it_works(step_id, tmp_path):
    if not id_is_valid(step_id):
        with pytest.raises(WorkflowDefinitionError):
            create_step(id=step_id, input_schema=str, output_schema=str,
                        execute=lambda input_data: input_data)
        with pytest.raises(WorkflowDefinitionError):
            create_workflow(id=step_id, input_schema=str, output_schema=str)
        return

    async def end_to_end() -> None:
        stores = Stores("sqlite", tmp_path)
        try:
            run = _id_workflow(step_id, stores.first).create_run()
            result = await run.start("in")
            assert result.status == "suspended" and result.suspended == [[step_id]]
            again = _id_workflow(step_id, stores.reopen()).create_run(run_id=run.run_id)
            assert again.steps[step_id].suspend_payload == {"who": step_id}
            result = await again.resume({"ok": 1}, step=step_id)
            assert result.status == "success", result.error
            assert result.result == "in:1!"
            assert result.steps[step_id].output == "in:1"
            assert_consistent(again, result, stores)
        finally:
            stores.close()

    asyncio.run(end_to_end())


@pytest.mark.parametrize("bad", [
    "gate[1]", "a[b", "b]", "a.b", "", "x" * 201, "tab\there", "nul\x00", "del\x7f",
    "c1\x85", "rtl\u202ehidden", "iso\u2066late", None, 5,
], ids=repr)
def test_bad_ids_raise_workflow_definition_error(bad):
    with pytest.raises(WorkflowDefinitionError):
        create_step(id=bad, input_schema=Any, output_schema=Any,
                    execute=lambda input_data: input_data)
    with pytest.raises(WorkflowDefinitionError):
        create_workflow(id=bad, input_schema=Any, output_schema=Any)


@pytest.mark.parametrize("bad", ["gate[1]", "a[b", "nul\x00", "rtl\u202e"], ids=repr)
def test_bad_ids_of_maps_and_sleeps_raise_workflow_definition_error(bad):
    wf = create_workflow(id="w", input_schema=Any, output_schema=Any)
    with pytest.raises(WorkflowDefinitionError):
        wf.map(lambda input_data: input_data, id=bad)
    with pytest.raises(WorkflowDefinitionError):
        wf.sleep(0, id=bad)


def test_ids_of_200_characters_and_unusual_characters_are_allowed():
    for good in ["x" * 200, "inc@0?", "a?", "#1 — ünïcödé ✓", "say \"hi\" <b>&amp;</b>",
                 "\u2028line-sep", "\u200bzero-width", "%2E"]:
        assert create_step(id=good, input_schema=Any, output_schema=Any,
                           execute=lambda input_data: input_data).id == good
        assert create_workflow(id=good, input_schema=Any, output_schema=Any).id == good


# -- ids that look like the engine's own journal keys ------------------------------------------


class Trail(BaseModel):
    log: list[str]


class Note(BaseModel):
    note: str


def _keys_workflows(store: Any, calls: dict[str, int]):
    """A loop of "inc" next to steps named "inc@0" and "inc@0?", a .branch next to steps
    named "branch-1" and "branch-1?", and "a?" suspending: once at the top level, and
    once inside a nested workflow that is itself inside a loop."""

    def appender(step_id: str):
        calls.setdefault(step_id, 0)

        async def execute(input_data: Trail) -> Trail:
            calls[step_id] += 1
            return Trail(log=[*input_data.log, step_id])

        return create_step(id=step_id, input_schema=Trail, output_schema=Trail,
                           execute=execute)

    calls.setdefault("a?", 0)

    async def ask(input_data: Trail, resume_data: Note | None, suspend) -> Trail:
        calls["a?"] += 1
        if resume_data is None:
            suspend({"at": len(input_data.log)})
        return Trail(log=[*input_data.log, f"a?:{resume_data.note}"])

    def body(wf_id: str):
        return (create_workflow(id=wf_id, input_schema=Trail, output_schema=Trail)
                .dountil(appender("inc"), lambda iteration_count: iteration_count >= 2)
                .then(appender("inc@0"))
                .then(appender("inc@0?"))
                .branch([(lambda input_data: True, appender("branch-1?")),
                         (lambda input_data: False, appender("branch-1"))])
                .map(lambda input_data: next(iter(input_data.values())))
                .then(create_step(id="a?", input_schema=Trail, output_schema=Trail,
                                  resume_schema=Note, execute=ask)))

    top = (create_workflow(id="keys-top", input_schema=Trail, output_schema=Trail,
                           storage=store)
           .dountil(appender("inc"), lambda iteration_count: iteration_count >= 2)
           .then(appender("inc@0"))
           .then(appender("inc@0?"))
           .branch([(lambda input_data: True, appender("branch-1?")),
                    (lambda input_data: False, appender("branch-1"))])
           .map(lambda input_data: next(iter(input_data.values())))
           .then(create_step(id="a?", input_schema=Trail, output_schema=Trail,
                             resume_schema=Note, execute=ask))
           .commit())
    inner = body("n").commit()
    looped = (create_workflow(id="keys-nested", input_schema=Trail, output_schema=Trail,
                              storage=store)
              .dountil(inner, lambda iteration_count: iteration_count >= 2)
              .commit())
    return top, looped


PASS = ["inc", "inc", "inc@0", "inc@0?", "branch-1?"]


async def test_ids_like_journal_keys_at_the_top_level_do_not_collide(tmp_path):
    stores = Stores("sqlite", tmp_path)
    calls: dict[str, int] = {}
    try:
        top, _ = _keys_workflows(stores.first, calls)
        run = top.create_run()
        result = await run.start({"log": []})
        assert result.status == "suspended", result.error
        assert result.suspended == [["a?"]]
        assert result.steps["inc@0"].output == Trail(log=["inc", "inc", "inc@0"])
        assert result.steps["inc@0?"].output == Trail(log=["inc", "inc", "inc@0", "inc@0?"])
        assert "branch-1" not in result.steps
        again = _keys_workflows(stores.reopen(), calls)[0].create_run(run_id=run.run_id)
        result = await again.resume({"note": "yes"}, step="a?")
        assert result.status == "success", result.error
        assert result.result == Trail(log=[*PASS, "a?:yes"])
        assert result.steps["branch-1?"].output == Trail(log=PASS)
        assert calls == {"inc": 2, "inc@0": 1, "inc@0?": 1, "branch-1?": 1, "branch-1": 0,
                         "a?": 2}
    finally:
        stores.close()


async def test_ids_like_journal_keys_inside_a_nested_workflow_in_a_loop(tmp_path):
    stores = Stores("sqlite", tmp_path)
    calls: dict[str, int] = {}
    try:
        _, looped = _keys_workflows(stores.first, calls)
        run = looped.create_run()
        result = await run.start({"log": []})
        assert result.status == "suspended", result.error
        assert result.suspended == [["n", "a?"]]
        assert run.steps["n.a?"].suspend_payload == {"at": len(PASS)}
        assert calls == {"inc": 2, "inc@0": 1, "inc@0?": 1, "branch-1?": 1, "branch-1": 0,
                         "a?": 1}
        result = await run.resume({"note": "one"}, step="n.a?")
        assert result.status == "suspended", result.error
        assert result.suspended == [["n", "a?"]]  # the second pass of the loop
        assert run.steps["n.a?"].suspend_payload == {"at": 2 * len(PASS) + 1}

        again = _keys_workflows(stores.reopen(), calls)[1].create_run(run_id=run.run_id)
        assert again.suspended == [["n", "a?"]]
        result = await again.resume({"note": "two"}, step=["n", "a?"])
        assert result.status == "success", result.error
        first = [*PASS, "a?:one"]
        assert result.result == Trail(log=[*first, *PASS, "a?:two"])
        assert result.steps["n.inc@0"].output == Trail(log=[*first, "inc", "inc", "inc@0"])
        assert result.steps["n.branch-1?"].output == Trail(log=[*first, *PASS])
        assert "n.branch-1" not in result.steps
        assert calls == {"inc": 4, "inc@0": 2, "inc@0?": 2, "branch-1?": 2, "branch-1": 0,
                         "a?": 4}
        assert_consistent(again, result, stores)
    finally:
        stores.close()


# -- ids and descriptions in DOT and SVG -------------------------------------------------------

HOSTILE_TEXT = ['say "hi"', "<script>alert(1)</script>", "a&b&amp;", "{x}", "back\\slash",
                "'single'", "-> edge", "//c", "#x", "<!DOCTYPE x>", "<!--c-->", "&lt;pre-escaped"]


def _hostile_graph() -> Any:
    def step_for(text: str, n: int):
        return create_step(id=text, description=f"{text}\nline 2 </title><script>x</script>"
                                                f" {{}}\\ \"{n}\" &",
                           input_schema=Any, output_schema=Any,
                           execute=lambda input_data: input_data)

    def cond(input_data):
        return True

    cond.__name__ = "<script>cond</script>"
    inner = (create_workflow(id='<script>inner</script>"&', description="</svg><script>",
                             input_schema=Any, output_schema=Any)
             .then(step_for("in<b>ner", 0))
             .commit())
    wf = create_workflow(id='<script>w</script>"&{}', description="<script>d</script>",
                         input_schema=Any, output_schema=Any)
    for n, text in enumerate(HOSTILE_TEXT[:6]):
        wf = wf.then(step_for(text, n))
    wf = wf.parallel([step_for(HOSTILE_TEXT[6], 6), step_for(HOSTILE_TEXT[7], 7)])
    wf = wf.branch([(cond, step_for(HOSTILE_TEXT[8], 8)), (cond, step_for(HOSTILE_TEXT[9], 9))])
    wf = wf.dountil(step_for(HOSTILE_TEXT[10], 10), cond)
    wf = wf.map(lambda input_data: [1, 2]).foreach(step_for(HOSTILE_TEXT[11], 11))
    return wf.then(inner).commit()


def test_dot_quotes_every_hostile_id_and_description():
    dot = _hostile_graph().to_dot()
    assert "<script" not in dot and "</" not in dot
    for line in dot.splitlines():
        # every double quote inside a DOT string is escaped: quotes pair up on each line
        unescaped = line.replace('\\\\', "").replace('\\"', "")
        assert unescaped.count('"') % 2 == 0, line


def test_svg_of_hostile_ids_is_well_formed_and_shows_them_escaped():
    svg = _hostile_graph().to_svg()
    assert "<script" not in svg
    root = ET.fromstring(svg)  # well-formed XML
    assert not [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "script"]
    text = "".join(root.itertext())
    attributes = " ".join(v for el in root.iter() for v in el.attrib.values())
    for shown in [*HOSTILE_TEXT, "in<b>ner"]:
        assert shown in text or shown in attributes, shown
    for el in root.iter():
        for name in el.attrib:
            assert not name.lower().startswith("on"), name  # no event handlers


def test_graph_of_a_run_with_hostile_ids_renders_after_running(tmp_path):
    wf = _hostile_graph()
    result = wf.invoke([1])
    assert result.status == "success", result.error
    from flownb.render.svg import workflow_svg

    statuses = {path: sr.status for path, sr in result.steps.items()}
    svg = workflow_svg(wf.graph.description, statuses)
    assert "<script" not in svg
    ET.fromstring(svg)

