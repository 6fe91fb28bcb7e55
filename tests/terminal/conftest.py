"""Fixtures of the terminal tests: user modules on disk, the CLI in-process, a still clock."""

from __future__ import annotations

import io
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from flownb.terminal.cli import main

HEADER = '''
from typing import Any, Literal
from pydantic import BaseModel, Field
from flownb import Registry, create_step, create_workflow


class Msg(BaseModel):
    message: str


class Review(BaseModel):
    approved: bool
    score: int = Field(ge=1, le=5, description="from 1 to 5")
    level: Literal["low", "high"] = "low"


def shout(input_data: Msg, emit):
    emit({"progress": 1})
    return {"message": input_data.message.upper()}


def boom(input_data: Msg):
    raise ValueError("no way")


def ask(input_data: Msg, resume_data: Review | None, suspend):
    if resume_data is None:
        return suspend({"question": f"publish {input_data.message}?"})
    return {"message": f"{input_data.message} {resume_data.score} {resume_data.level}"}


def shout_step(id="shout"):
    return create_step(id=id, input_schema=Msg, output_schema=Msg, execute=shout)


def ask_step(id="approve"):
    return create_step(id=id, description="A person approves", input_schema=Msg,
                       output_schema=Msg, resume_schema=Review, execute=ask)
'''

GREET = '''
greet = create_workflow(id="greet", input_schema=Msg, output_schema=Msg).then(shout_step()).commit()
'''

REVIEW = '''
review = (create_workflow(id="review", input_schema=Msg, output_schema=Msg)
          .then(shout_step()).then(ask_step()).commit())
'''

FAILING = '''
failing = (create_workflow(id="failing", input_schema=Msg, output_schema=Msg)
           .then(shout_step())
           .then(create_step(id="explode", input_schema=Msg, output_schema=Msg, execute=boom))
           .commit())
'''

TWO_WAITING = '''
both = (create_workflow(id="both", input_schema=Msg, output_schema=Any)
        .parallel([ask_step("left"), ask_step("right")]).commit())
'''


@dataclass
class Result:
    """What a ``flownb`` invocation did."""

    code: int
    out: str
    err: str


PARTS = {"greet": GREET, "review": REVIEW, "failing": FAILING, "both": TWO_WAITING}


@pytest.fixture
def write_module(tmp_path, monkeypatch):
    """``write_module(name, *parts)`` writes a module of the shared helpers plus the named
    workflows (``greet``, ``review``, ``failing``, ``both``) or literal source lines to
    ``tmp_path/name.py``."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    written: list[str] = []

    def write(name: str, *parts: str) -> Path:
        path = tmp_path / f"{name}.py"
        path.write_text(HEADER + "".join(textwrap.dedent(PARTS.get(p, p)) for p in parts))
        written.append(name)
        return path

    yield write
    for name in written:
        for key in (name, f"flownb_user_{name}"):
            sys.modules.pop(key, None)


@pytest.fixture
def cli(capsys, monkeypatch):
    """``cli(*argv)`` runs ``flownb`` in this process; returns code, stdout and stderr."""
    monkeypatch.setenv("COLUMNS", "100")

    def invoke(*argv: str) -> Result:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def still_clock(monkeypatch):
    """Every timestamp the engine takes is 1000.0 (so every duration is 0 ms)."""
    monkeypatch.setattr("flownb.core.clock.now", lambda: 1000.0)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield 1000.0
    monkeypatch.delenv("TZ")
    time.tzset()


@pytest.fixture
def console():
    """A fixed-width (100), colourless console recording what it prints (``export_text``)."""
    return Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False,
                   record=True)
