"""What is stored must replay (SPEC §1, §4): a step's output of every tricky model kind,
stored in SQLite, validates back into the same schema when a second process reattaches and
resumes the run; the same in one process with ``MemoryStore``.

The workflow: ``make`` returns a value of the kind, ``gate`` suspends, and on resume hands on
its input; ``last`` returns ``get_step_result("make")``. The resumed run must end
``success`` with a final result equal to what ``make`` returned, and the stored JSON text
must be strict (no bare ``NaN``/``Infinity``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flownb.storage import MemoryStore, SQLiteStore

REPO = Path(__file__).resolve().parents[2]

MODULE = textwrap.dedent('''
    """The same workflow in the test process and in the resuming process."""
    import json, math, sys
    from typing import Any
    from datetime import datetime, timezone, timedelta
    from decimal import Decimal
    from enum import Enum
    from pydantic import (BaseModel, ConfigDict, Field, computed_field,
                          field_serializer)
    import flownb
    from flownb import create_step, create_workflow

    class Color(Enum):
        RED = "red"
        BLUE = "blue"

    class Level(int, Enum):
        LOW = 1
        HIGH = 2

    class StrictStamp(BaseModel):
        model_config = ConfigDict(strict=True)
        when: datetime
        naive: datetime

    class StrictColor(BaseModel):
        model_config = ConfigDict(strict=True)
        color: Color
        level: Level

    class StrictPrice(BaseModel):
        model_config = ConfigDict(strict=True)
        price: Decimal
        tiny: Decimal

    class StrictAll(BaseModel):
        model_config = ConfigDict(strict=True)
        when: datetime
        color: Color
        price: Decimal
        tags: tuple[str, ...]

    class Secretive(BaseModel):
        name: str
        secret: str = Field(exclude=True)

    class Angled(BaseModel):
        n: int

        @field_serializer("n")
        def _angle(self, v: int) -> str:
            return f"<{v}>"

    class Doubled(BaseModel):
        model_config = ConfigDict(extra="forbid")
        n: int

        @computed_field
        @property
        def double(self) -> int:
            return 2 * self.n

    class Floats(BaseModel):
        nan: float
        pos: float
        neg: float
        many: list[float]

    KINDS = {
        "strict-datetime": (StrictStamp, lambda: StrictStamp(
            when=datetime(2024, 2, 29, 23, 59, 58, 123456,
                          tzinfo=timezone(timedelta(hours=5, minutes=30))),
            naive=datetime(1999, 12, 31, 0, 0, 1))),
        "strict-enum": (StrictColor, lambda: StrictColor(color=Color.BLUE, level=Level.HIGH)),
        "strict-decimal": (StrictPrice, lambda: StrictPrice(price=Decimal("1.10"),
                                                            tiny=Decimal("1E-30"))),
        "strict-all": (StrictAll, lambda: StrictAll(
            when=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc), color=Color.RED,
            price=Decimal("12345678901234567890.000000001"), tags=("a", "b"))),
        "excluded-field": (Secretive, lambda: Secretive(name="n", secret="s3cret")),
        "field-serializer": (Angled, lambda: Angled(n=5)),
        "computed-field-extra-forbid": (Doubled, lambda: Doubled(n=21)),
        "nan-and-infinities": (Floats, lambda: Floats(
            nan=float("nan"), pos=float("inf"), neg=float("-inf"),
            many=[float("nan"), 1.5, float("-inf")])),
    }

    def _float_same(a, b):
        if math.isnan(a):
            return isinstance(b, float) and math.isnan(b)
        return isinstance(b, float) and a == b

    def same(kind, expected, got):
        """``got`` equals what ``make`` returned: same type, same fields (excluded ones
        too), decimals and datetimes exactly (offset included)."""
        schema = KINDS[kind][0]
        if type(got) is not schema:
            return False
        if kind == "nan-and-infinities":
            return (all(_float_same(getattr(expected, f), getattr(got, f))
                        for f in ("nan", "pos", "neg"))
                    and len(got.many) == 3
                    and all(_float_same(a, b) for a, b in zip(expected.many, got.many)))
        for name in schema.model_fields:
            a, b = getattr(expected, name), getattr(got, name)
            if a != b or type(a) is not type(b):
                return False
            if isinstance(a, datetime) and (a.utcoffset() != b.utcoffset()):
                return False
            if isinstance(a, Decimal) and str(a) != str(b):
                return False
        return True

    def workflow(kind, store, *, typed_edges=False):
        """make -> gate (suspends) -> last. Only make's output is typed, unless
        ``typed_edges``: then gate, last and the workflow use the kind's model too (which
        ``.commit()`` must accept: it is the same model on both ends of each edge)."""
        schema, factory = KINDS[kind]
        edge = schema if typed_edges else Any

        def make(input_data: str):
            return factory()

        def gate(input_data, resume_data, suspend):
            if resume_data is None:
                suspend({"kind": kind})
            return input_data

        def last(input_data, get_step_result):
            return get_step_result("make")

        return (create_workflow(id=f"replay-{kind}", input_schema=str, output_schema=edge,
                                storage=store)
                .then(create_step(id="make", input_schema=str, output_schema=schema,
                                  execute=make))
                .then(create_step(id="gate", input_schema=edge, output_schema=edge,
                                  execute=gate))
                .then(create_step(id="last", input_schema=edge, output_schema=edge,
                                  execute=last))
                .commit())

    def resume(kind, store, run_id, action="resume"):
        """Reattach and resume (or fork's cousin: restart); a JSON-able verdict."""
        _, factory = KINDS[kind]
        try:
            run = workflow(kind, store).create_run(run_id=run_id)
            result = flownb.run_sync(run.resume({"ok": True}))
        except Exception as exc:
            return {"status": "raised", "error": f"{type(exc).__name__}: {exc}"}
        verdict = {"status": result.status, "error": result.error}
        if result.status == "success":
            verdict["final_equal"] = same(kind, factory(), result.result)
            verdict["gate_equal"] = same(kind, factory(), result.steps["gate"].output)
            verdict["final"] = repr(result.result)
        return verdict

    if __name__ == "__main__":
        from flownb.storage import SQLiteStore
        db, pairs = sys.argv[1], sys.argv[2:]
        store = SQLiteStore(db)
        out = {}
        for pair in pairs:
            kind, run_id = pair.split("=", 1)
            out[kind] = resume(kind, store, run_id)
        print(json.dumps(out), flush=True)
''')

KINDS = ["strict-datetime", "strict-enum", "strict-decimal", "strict-all", "excluded-field",
         "field-serializer", "computed-field-extra-forbid", "nan-and-infinities"]


def _load_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"replaymod_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _reject_constant(token: str):
    raise ValueError(f"bare {token} token in stored JSON")


def stored_texts(db: Path) -> list[str]:
    """Every JSON text SQLite holds for runs: step/journal records, and any other JSON
    column (meta, input), whatever the table layout."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        texts = [row[0] for row in conn.execute("SELECT data FROM run_records")]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                             "WHERE type = 'table'")]
        for table in tables:
            if table == "run_records":
                continue
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                texts += [c for c in row if isinstance(c, str) and c[:1] in ("{", "[")]
        return texts
    finally:
        conn.close()


def assert_strict_json(db: Path) -> None:
    texts = stored_texts(db)
    assert texts
    for text in texts:
        json.loads(text, parse_constant=_reject_constant)


@pytest.fixture(scope="module")
def second_process(tmp_path_factory):
    """Start one run per kind in this process (SQLite), then resume them all in ONE second
    process; returns (db path, {kind: run id}, {kind: verdict}, {kind: stored text ok})."""
    import flownb

    workdir = tmp_path_factory.mktemp("replay")
    (workdir / "replaymod.py").write_text(MODULE)
    mod = _load_module(workdir / "replaymod.py")
    db = workdir / "runs.db"
    store = SQLiteStore(db)
    run_ids: dict[str, str] = {}
    started: dict[str, str] = {}
    for kind in KINDS:
        run_ids[kind] = "never-started"
        try:
            run = mod.workflow(kind, store).create_run()
            run_ids[kind] = run.run_id
            result = flownb.run_sync(run.start("go"))
            started[kind] = f"{result.status}: {result.error}"
        except Exception as exc:  # reported by the kind's own test, not here
            started[kind] = f"raised {type(exc).__name__}: {exc}"
    strict_after_start: dict[str, str | None] = {}
    for kind in KINDS:
        strict_after_start[kind] = _strict_problem(db, run_ids[kind])
    store.close()

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(workdir)])
    env.pop("FLOWNB_STORAGE", None)
    pairs = [f"{k}={run_ids[k]}" for k in KINDS if started[k].startswith("suspended")]
    verdicts: dict[str, dict] = {}
    if pairs:
        proc = subprocess.run([sys.executable, str(workdir / "replaymod.py"), str(db), *pairs],
                              cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        verdicts = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"db": db, "run_ids": run_ids, "started": started, "verdicts": verdicts,
            "strict_after_start": strict_after_start}


def _strict_problem(db: Path, run_id: str) -> str | None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT data FROM run_records WHERE run_id = ?", (run_id,))
        for (text,) in rows:
            try:
                json.loads(text, parse_constant=_reject_constant)
            except ValueError as exc:
                return f"{exc}: {text[:200]}"
        return None
    finally:
        conn.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_stored_output_replays_in_a_second_process(second_process, kind):
    started = second_process["started"][kind]
    assert started.startswith("suspended"), f"first process: {started}"
    verdict = second_process["verdicts"][kind]
    assert verdict["status"] == "success", verdict
    assert verdict["final_equal"], verdict
    assert verdict["gate_equal"], verdict
    store = SQLiteStore(second_process["db"])
    try:
        assert store.load(second_process["run_ids"][kind]).status == "success"
    finally:
        store.close()


@pytest.mark.parametrize("kind", KINDS)
def test_stored_records_are_strict_json(second_process, kind):
    started = second_process["started"][kind]
    assert started.startswith("suspended"), f"first process: {started}"
    assert second_process["strict_after_start"][kind] is None, \
        second_process["strict_after_start"][kind]
    problem = _strict_problem(second_process["db"], second_process["run_ids"][kind])
    assert problem is None, problem


def test_every_json_text_in_the_database_is_strict(second_process):
    assert_strict_json(second_process["db"])


@pytest.fixture
def replaymod(tmp_path):
    (tmp_path / "replaymod.py").write_text(MODULE)
    return _load_module(tmp_path / "replaymod.py")


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stored_output_replays_in_one_process_with_memory_store(replaymod, kind):
    store = MemoryStore()
    run = replaymod.workflow(kind, store).create_run()
    result = await run.start("go")
    assert result.status == "suspended", result.error
    snap = store.load(run.run_id)
    json.dumps(snap.to_json(), allow_nan=False)  # strict JSON: no NaN/Infinity
    again = replaymod.workflow(kind, store).create_run(run_id=run.run_id)
    result = await again.resume({"ok": True})
    assert result.status == "success", result.error
    expected = replaymod.KINDS[kind][1]()
    assert replaymod.same(kind, expected, result.result), (expected, result.result)
    assert replaymod.same(kind, expected, result.steps["gate"].output)
    assert store.load(run.run_id).status == "success"


@pytest.mark.parametrize("kind", KINDS)
async def test_the_same_model_on_both_ends_of_every_edge_commits_and_replays(replaymod, kind,
                                                                            tmp_path):
    """SPEC §2: an edge is judged on the JSON shape; a model handed to a step of the same
    model (excluded fields, custom serializers and all) is compatible with itself."""
    store = SQLiteStore(tmp_path / "typed.db")
    try:
        run = replaymod.workflow(kind, store, typed_edges=True).create_run()
        assert (await run.start("go")).status == "suspended"
        again = replaymod.workflow(kind, SQLiteStore(tmp_path / "typed.db"),
                                   typed_edges=True).create_run(run_id=run.run_id)
        result = await again.resume({"ok": True})
        assert result.status == "success", result.error
        expected = replaymod.KINDS[kind][1]()
        assert replaymod.same(kind, expected, result.result), (expected, result.result)
    finally:
        store.close()
