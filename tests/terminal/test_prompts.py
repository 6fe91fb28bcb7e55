"""Asking for resume data field by field (terminal/prompts.py), answers read from a file."""

from __future__ import annotations

import enum
import io
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, model_validator

from flownb.terminal.prompts import ask_resume_data, choose, prompt_fields


class Colour(enum.Enum):
    red = "red"
    blue = "blue"


class Person(BaseModel):
    name: str
    age: int = Field(gt=0)


class Review(BaseModel):
    approved: bool
    score: int = Field(ge=1, le=5, description="from 1 to 5")
    level: str = Field(default="low", alias="the-level")
    colour: Colour = Colour.red
    mood: bool = True
    reviewer: Person
    tags: list[str] = Field(default_factory=list)
    note: str | None = None
    size: int | None


class Range(BaseModel):
    low: int
    high: int

    @model_validator(mode="after")
    def ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


def test_fields_come_from_the_model():
    got = [(f.path, f.kind, f.type_name, f.required, f.default, [s for s, _ in f.choices],
            f.nullable) for f in prompt_fields(Review)]
    assert got == [
        ("approved", "bool", "bool", True, None, [], False),
        ("score", "text", "int", True, None, [], False),
        ("the-level", "text", "str", False, "low", [], False),
        ("colour", "choice", "Colour", False, Colour.red, ["red", "blue"], False),
        ("mood", "bool", "bool", False, True, [], False),
        ("reviewer.name", "text", "str", True, None, [], False),
        ("reviewer.age", "text", "int", True, None, [], False),
        ("tags", "list", "list[str], comma-separated or JSON", False, [], [], False),
        ("note", "text", "str", False, None, [], True),
        ("size", "text", "int", True, None, [], True),
    ]
    assert prompt_fields(Review)[1].description == "from 1 to 5"


def ask(schema, answers: str):
    console = _console()
    data = ask_resume_data(schema, console, stream=io.StringIO(answers))
    return data, console.export_text()


def _console():
    from rich.console import Console

    return Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False,
                   record=True)


def test_every_field_is_asked_and_bad_answers_are_asked_again():
    answers = "\n".join([
        "maybe", "y",          # approved: not y/n, then yes
        "abc", "9", "3",       # score: not an int, too big, then fine
        "",                    # the-level: default
        "green", "blue",       # colour: not a choice, then one
        "",                    # mood: default
        "[b]Ann[/b]",          # reviewer.name
        "0", "42",             # reviewer.age: not > 0, then fine
        '["a"', '["a", "b"]',  # tags: broken JSON, then a list as JSON
        "",                    # note: default (none)
        "",                    # size: empty for none
    ]) + "\n"
    data, shown = ask(Review, answers)
    assert data == {"approved": True, "score": 3, "colour": Colour.blue, "mood": True,
                    "reviewer": {"name": "[b]Ann[/b]", "age": 42}, "tags": ["a", "b"],
                    "size": None}
    assert Review.model_validate(data).level == "low"
    assert shown == (
        "approved (bool) [y/n]: "
        "Please enter Y or N\n"
        "approved (bool) [y/n]: "
        "score (int, ≥ 1, ≤ 5) from 1 to 5: "
        "  ✗ score: Input should be a valid integer, unable to parse string as an integer\n"
        "score (int, ≥ 1, ≤ 5) from 1 to 5: "
        "  ✗ score: Input should be less than or equal to 5\n"
        "score (int, ≥ 1, ≤ 5) from 1 to 5: "
        "the-level (str) (low): "
        "colour (Colour) [red/blue] (red): "
        "Please select one of the available options\n"
        "colour (Colour) [red/blue] (red): "
        "mood (bool) [y/n] (y): "
        "reviewer.name (str): "
        "reviewer.age (int, > 0): "
        "  ✗ reviewer.age: Input should be greater than 0\n"
        "reviewer.age (int, > 0): "
        "tags (list[str], comma-separated or JSON) ([]): "
        "  ✗ tags: Invalid JSON: EOF while parsing a list at line 1 column 4\n"
        "tags (list[str], comma-separated or JSON) ([]): "
        "note (str) (none): "
        "size (int) (empty for none): ")


def test_a_field_the_whole_model_rejects_is_asked_again():
    data, shown = ask(Range, "5\n1\n1\n9\n")  # 5 > 1 fails the model: both asked again
    assert data == {"low": 1, "high": 9}
    assert shown == ("low (int): high (int): "
                     "  ✗ (all fields): Value error, low must not exceed high\n"
                     "low (int): high (int): ")


def test_a_schema_that_is_not_a_model_is_one_question():
    data, shown = ask(int, "x\n7\n")
    assert data == 7
    assert shown == ("value (int): "
                     "  ✗ value: Input should be a valid integer, unable to parse string as an "
                     "integer\n"
                     "value (int): ")
    data, shown = ask(list[int], "[1, 2]\n")
    assert data == [1, 2] and shown == "value (list[int], comma-separated or JSON): "
    data, shown = ask(dict[str, int], '{"a": 1}\n')
    assert data == {"a": 1} and shown == "value (dict[str, int], as JSON): "


class Topics(BaseModel):
    topics: list[str]
    counts: Annotated[list[int], Field(min_length=1)] = [1]
    kinds: set[Colour] = set()


def test_a_list_of_text_items_is_typed_comma_separated_or_as_json():
    answers = "\n".join([
        "news, tech",          # topics: comma-separated
        "1, x", "1,2 , 3",     # counts: a bad item (named by its index), then fine
        "red, blue",           # kinds: enum values
    ]) + "\n"
    data, shown = ask(Topics, answers)
    assert data == {"topics": ["news", "tech"], "counts": [1, 2, 3],
                    "kinds": {Colour.red, Colour.blue}}
    assert shown == (
        "topics (list[str], comma-separated or JSON): "
        "counts (list[int], comma-separated or JSON, at least 1 item) ([1]): "
        "  ✗ counts.1: Input should be a valid integer, unable to parse string as an integer\n"
        "counts (list[int], comma-separated or JSON, at least 1 item) ([1]): "
        "kinds (set[Colour], comma-separated or JSON) ([]): ")
    # JSON still works (an item with a comma in it), and an empty answer is an empty list
    data, _ = ask(Topics, '["a, b", "c"]\n\n\n')
    assert data == {"topics": ["a, b", "c"]}
    data, shown = ask(Topics, "\n[]\n1\n\n")
    assert data == {"topics": [], "counts": [1]}
    assert "  ✗ counts: List should have at least 1 item after validation, not 0\n" in shown


class Word(BaseModel):
    text: str


class Bounded(BaseModel):
    reviewer: str = Field(min_length=2, max_length=40, description="who decided")
    code: str = Field(pattern=r"^[A-Z]{3}$")
    ratio: float | None = Field(default=None, gt=0, lt=1, description="a share")
    step: Annotated[int, Field(multiple_of=5)] = 10
    words: list[Word] = []


def test_bounds_are_shown_with_the_description_and_types_by_their_bare_names():
    got = {f.path: (f.type_name, f.bounds) for f in prompt_fields(Bounded)}
    assert got == {
        "reviewer": ("str", "2–40 characters"),
        "code": ("str", "matching ^[A-Z]{3}$"),
        "ratio": ("float", "> 0, < 1"),
        "step": ("int", "a multiple of 5"),
        "words": ("list[Word], as JSON", ""),  # not list[tests.terminal....Word]
    }
    _, shown = ask(Bounded, "Ann\nABC\n\n\n\n")
    assert shown == ("reviewer (str, 2–40 characters) who decided: "
                     "code (str, matching ^[A-Z]{3}$): "
                     "ratio (float, > 0, < 1) a share (none): "
                     "step (int, a multiple of 5) (10): "
                     "words (list[Word], as JSON) ([]): ")
    assert prompt_fields(Annotated[int, Field(ge=0)])[0].bounds == "≥ 0"


def test_the_end_of_the_answers_is_an_eof():
    with pytest.raises(EOFError):
        ask(Review, "y\n")


def test_choose_among_options():
    console = _console()
    picked = choose(console, "which?", ["left", "right"], stream=io.StringIO("middle\nright\n"))
    assert picked == "right"
    assert console.export_text() == ("which? [left/right]: "
                                     "Please select one of the available options\n"
                                     "which? [left/right]: ")
