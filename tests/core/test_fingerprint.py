"""Code fingerprints (flownb.core.fingerprint): what changes a step's fingerprint and what not."""

from __future__ import annotations

import functools
import importlib
import json
import linecache
import operator
import sys
import textwrap
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from flownb import create_step
from flownb.core import fingerprint
from flownb.core.fingerprint import CodeFingerprint, code_fingerprint, value_digest

_cells = iter(range(10**6))


def cell(source: str, ns: dict[str, Any] | None = None, *, register: bool = True) -> dict[str, Any]:
    """Run ``source`` like a notebook cell: its own file name, registered in linecache."""
    ns = {} if ns is None else ns
    text = textwrap.dedent(source)
    filename = f"/tmp/ipykernel_fp/{next(_cells)}.py" if register else "<no source>"
    if register:
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), ns)
    return ns


def digest(fn: Any) -> str:
    fp = code_fingerprint(fn)
    assert fp.digest is not None, fp.reason
    return fp.digest


STEP_SOURCE = """
RATE = 3
def step(x):
    return [x * RATE for _ in range(2)]
"""


def test_same_code_in_two_cells_gives_the_same_digest():
    a = cell(STEP_SOURCE)
    b = cell("\n\n\n# another cell, further down\n" + STEP_SOURCE)
    assert a["step"].__code__.co_filename != b["step"].__code__.co_filename
    assert a["step"].__code__.co_firstlineno != b["step"].__code__.co_firstlineno
    assert digest(a["step"]) == digest(b["step"])
    changed = cell(STEP_SOURCE.replace("x * RATE", "x + RATE"))
    assert digest(changed["step"]) != digest(a["step"])


def test_decorator_lines_do_not_count():
    plain = cell(STEP_SOURCE)
    decorated = cell(
        "def deco(**kw):\n    return lambda f: f\n"
        + STEP_SOURCE.replace("def step", "@deco(\n    id='x',\n)\ndef step")
    )
    assert digest(plain["step"]) == digest(decorated["step"])


def test_closure_value_counts():
    ns = cell("""
        def make(n):
            def add(x):
                return x + n
            return add
    """)
    assert digest(ns["make"](1)) == digest(ns["make"](1))
    assert digest(ns["make"](1)) != digest(ns["make"](2))


def test_helper_two_levels_down_counts():
    ns = cell("""
        def leaf(x):
            return x + 1
        def middle(x):
            return leaf(x) * 2
        def step(x):
            return middle(x)
    """)
    before = digest(ns["step"])
    cell("def leaf(x):\n    return x + 2\n", ns)  # another cell redefines the helper
    assert digest(ns["step"]) != before
    cell("def leaf(x):\n    return x + 1\n", ns)
    assert digest(ns["step"]) == before


def test_module_global_changed_between_calls_on_the_same_function():
    ns = cell(STEP_SOURCE)
    step = ns["step"]
    before = digest(step)
    ns["RATE"] = 4
    assert digest(step) != before
    ns["RATE"] = 3
    assert digest(step) == before


class Settings(BaseModel):
    model: str = "small"
    temperature: float = 0.0


def test_pydantic_global_counts_by_value():
    ns = cell("""
        def step(x):
            return SETTINGS.model + x
    """, {"SETTINGS": Settings()})
    before = digest(ns["step"])
    ns["SETTINGS"] = Settings(temperature=0.5)
    assert digest(ns["step"]) != before
    ns["SETTINGS"] = Settings()
    assert digest(ns["step"]) == before


def test_user_classes_count_by_schema_and_methods():
    ns = cell("""
        from pydantic import BaseModel
        class Out(BaseModel):
            text: str
        class Tool:
            def run(self, x):
                return x + 1
        def step(x):
            return Out(text=str(Tool().run(x)))
    """, {"__name__": "notebook_cell"})  # without __name__, classes would be "builtins.Out"
    before = digest(ns["step"])
    cell("class Out(BaseModel):\n    text: str\n    score: float = 0.0\n", ns)
    changed_schema = digest(ns["step"])
    assert changed_schema != before
    cell("class Tool:\n    def run(self, x):\n        return x + 2\n", ns)
    assert digest(ns["step"]) != changed_schema


def test_unrelated_global_does_not_count():
    ns = cell(STEP_SOURCE)
    before = digest(ns["step"])
    ns["UNUSED"] = object()
    ns["OTHER"] = 42
    assert digest(ns["step"]) == before
    assert code_fingerprint(ns["step"]).by_type == ()


def test_lambda():
    a = cell("LIMIT = 5\nclip = lambda x: min(x, LIMIT)\n")
    b = cell("\n\nLIMIT = 5\nclip = lambda x: min(x, LIMIT)\n")
    assert digest(a["clip"]) == digest(b["clip"])
    a["LIMIT"] = 6
    assert digest(a["clip"]) != digest(b["clip"])


@dataclass
class Scaler:
    factor: int

    def scale(self, x: int) -> int:
        return x * self.factor


def test_bound_method_counts_its_instance():
    assert digest(Scaler(2).scale) == digest(Scaler(2).scale)
    assert digest(Scaler(2).scale) != digest(Scaler(3).scale)


def test_partial_counts_its_arguments():
    def power(x: int, n: int, *, offset: int = 0) -> int:
        return x**n + offset

    assert digest(functools.partial(power, n=2)) == digest(functools.partial(power, n=2))
    assert digest(functools.partial(power, n=2)) != digest(functools.partial(power, n=3))
    assert digest(functools.partial(power, 1)) != digest(functools.partial(power, 2))


def test_callable_object_counts_its_call_and_instance():
    @dataclass
    class Greeter:
        greeting: str

        def __call__(self, name: str) -> str:
            return f"{self.greeting} {name}"

    assert digest(Greeter("hi")) == digest(Greeter("hi"))
    assert digest(Greeter("hi")) != digest(Greeter("hello"))


def test_callables_without_source_fall_back_to_bytecode_or_name():
    a = cell("def f(x):\n    return x + 1\n", register=False)
    b = cell("def f(x):\n    return x + 2\n", register=False)
    with pytest.raises(OSError):
        __import__("inspect").getsource(a["f"])
    assert digest(a["f"]) != digest(b["f"])
    assert digest(a["f"]) == digest(cell("def f(x):\n    return x + 1\n", register=False)["f"])
    assert digest(len) == digest(len)
    assert digest(len) != digest(abs)


def test_what_cannot_be_fingerprinted_says_why():
    fp = code_fingerprint(operator.itemgetter(1))
    assert fp.digest is None and fp.reason is not None and "itemgetter" in fp.reason
    fp = code_fingerprint(42)  # type: ignore[arg-type]
    assert fp.digest is None and fp.reason is not None and "not callable" in fp.reason


class Client:
    def get(self) -> str:
        return "x"


def test_objects_count_by_type_and_are_named():
    ns = cell("""
        def step(x):
            with LOCK:
                return client.get() + x
    """, {"LOCK": threading.Lock(), "client": Client()})
    fp = code_fingerprint(ns["step"])
    assert fp.by_type == ("LOCK: _thread.lock", f"client: {__name__}.Client")
    before = fp.digest
    ns["client"] = Client()  # another instance of the same type: the same fingerprint
    assert digest(ns["step"]) == before


def test_huge_value_counts_by_type():
    ns = cell("def step(x):\n    return BIG[x]\n", {"BIG": list(range(400_000))})
    assert code_fingerprint(ns["step"]).by_type == ("BIG: builtins.list (too large for a value)",)


def test_recursion_terminates():
    ns = cell("""
        def fact(n):
            return 1 if n <= 1 else n * fact(n - 1)
        def even(n):
            return n == 0 or odd(n - 1)
        def odd(n):
            return n != 0 and even(n - 1)
    """)
    assert digest(ns["fact"]) and digest(ns["even"]) and digest(ns["odd"])
    before = digest(ns["even"])
    cell("def odd(n):\n    return n != 0 and not even(n - 1)\n", ns)
    assert digest(ns["even"]) != before


def test_library_functions_count_by_name_and_are_not_read(monkeypatch):
    ns = cell("def step(x):\n    return json.dumps(x) + dumps(x)\n",
              {"json": json, "dumps": json.dumps})
    seen = []
    real = fingerprint._code_info
    monkeypatch.setattr(fingerprint, "_code_info", lambda code: seen.append(code) or real(code))
    fp = code_fingerprint(ns["step"])
    assert fp.by_type == ()
    assert seen == [ns["step"].__code__]  # json.dumps' code is never looked at


def test_code_part_is_cached_per_code_object(monkeypatch):
    calls = []
    real = fingerprint.inspect.getsource
    monkeypatch.setattr(fingerprint.inspect, "getsource", lambda o: calls.append(o) or real(o))
    ns = cell(STEP_SOURCE)
    digest(ns["step"])
    assert calls == [ns["step"].__code__]  # the source is read once, on the first call
    ns["RATE"] = 7
    digest(ns["step"])
    assert calls == [ns["step"].__code__]


def test_a_step_read_as_a_global_is_followed():
    ns = cell("def inner(input_data):\n    return input_data\n")
    ns["other"] = create_step(id="other", input_schema=Settings, output_schema=Settings,
                              execute=ns["inner"])
    cell("def step(x):\n    return other(x)\n", ns)
    before = digest(ns["step"])
    ns["other"] = create_step(id="other", input_schema=Settings, output_schema=Settings,
                              execute=lambda input_data: input_data.model_copy())
    assert digest(ns["step"]) != before


def test_user_module_helper_changed_and_reloaded(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "fp_user_helpers.py"
    path.write_text("def helper(x):\n    return x + 1\n")
    mod = importlib.import_module("fp_user_helpers")
    try:
        ns = cell("def step(x):\n    return fp_user_helpers.helper(x)\n", {"fp_user_helpers": mod})
        before = digest(ns["step"])
        assert digest(ns["step"]) == before
        path.write_text("def helper(x):\n    return x + 100\n")
        importlib.reload(mod)
        assert digest(ns["step"]) != before
    finally:
        sys.modules.pop("fp_user_helpers", None)


def test_value_digest():
    assert value_digest({"a": 1, "b": [1, 2]}) == value_digest({"b": [1, 2], "a": 1})
    assert value_digest({"a": 1}) != value_digest({"a": True})
    assert value_digest(float("nan")) == value_digest(float("nan"))
    assert value_digest(Settings()) != value_digest(Settings(model="large"))
    assert value_digest(Scaler(1)) != value_digest(Scaler(2))
    assert value_digest({1: "x"}) != value_digest({"1": "x"})
    assert value_digest(object()) is None
    assert value_digest([threading.Lock()]) is None
    deep: list[Any] = []
    for _ in range(500):
        deep = [deep]
    assert value_digest(deep) is None


def test_fingerprint_is_a_frozen_value():
    fp = code_fingerprint(len)
    assert isinstance(fp, CodeFingerprint) and fp.reason is None and fp.by_type == ()
    with pytest.raises(AttributeError):
        fp.digest = "x"  # type: ignore[misc]


def test_a_repeat_is_answered_from_the_last_walk_while_it_holds(monkeypatch):
    ns = cell(STEP_SOURCE)
    before = digest(ns["step"])
    walks = []
    real = fingerprint._Walk.function
    monkeypatch.setattr(fingerprint._Walk, "function",
                        lambda self, fn, name: walks.append(fn) or real(self, fn, name))
    assert digest(ns["step"]) == before and walks == []  # nothing it read changed
    ns["RATE"] = 4
    assert digest(ns["step"]) != before and walks == [ns["step"]]


def test_what_the_last_walk_read_is_checked_each_time():
    """Every kind of read a repeat compares by identity: a change of any of them is seen."""
    ns = cell("""
        import math
        SCALE = (1, 2)
        def helper(x):
            return x * OFFSET if 'OFFSET' in globals() else x
        class Tool:
            def run(self, x):
                return x + 1
        def make(k):
            def step(x, extra=1):
                return helper(Tool().run(x)) * k * sum(SCALE) * extra * math.pi
            def bump():
                nonlocal k
                k += 1
            return step, bump
    """, {"__name__": "notebook_cell"})
    step, bump = ns["make"](2)
    seen = {digest(step)}
    assert step in fingerprint._MEMOS  # a tuple, a class, functions: identity says enough

    def changed() -> bool:
        new = digest(step)
        assert new == fingerprint._fingerprint(step)[0].digest  # a walk from scratch agrees
        if new in seen:
            return False
        seen.add(new)
        return True

    ns["SCALE"] = (1, 2, 3)
    assert changed()
    bump()  # a closure cell
    assert changed()
    step.__defaults__ = (5,)
    assert changed()
    ns["OFFSET"] = 10  # a name the helper reads, absent before
    assert changed()
    ns["Tool"].run = lambda self, x: x + 2  # a method replaced
    assert changed()
    ns["Tool"].extra = lambda self: 0  # a method added
    assert changed()
    k = 0
    step.__code__ = (lambda x, extra=1: x * k).__code__
    assert changed()
    ns["unrelated"] = 1
    assert not changed()


def test_a_value_that_can_change_in_place_is_digested_each_time():
    ns = cell("SCALE = [1, 2]\ndef step(x):\n    return x * sum(SCALE)\n")
    before = digest(ns["step"])
    assert ns["step"] not in fingerprint._MEMOS
    ns["SCALE"].append(3)
    assert digest(ns["step"]) != before
    ns["SCALE"].pop()
    assert digest(ns["step"]) == before
