"""Forms invent no values: required fields start empty and marked, defaults show, nothing is
pre-filled with a value its own constraints refuse, and an empty required field is "Field
required" on submit, next to it, with everything typed kept (SPEC §6b, Forms)."""

from __future__ import annotations

import datetime as dt
import enum
from pathlib import Path
from typing import Annotated, Any, Literal

from nb_workflows import Doc, review_workflow
from pydantic import BaseModel, Field

import flownb
from flownb import create_step, create_workflow
from flownb.notebook import InputForm, ResumeForm, forms
from flownb.notebook.fields import ADD_LABEL, EMPTY, LOAD_LABEL, ScalarField, build_fields


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Who(BaseModel):
    name: str
    age: int | None = None


class Everything(BaseModel):
    n: int
    x: float
    s: str
    ok: bool
    pick: Literal["a", "b"]
    color: Color
    day: dt.date
    at: dt.datetime
    who: Who
    sizes: list[int]
    meta: dict[str, int]
    maybe: int | None


class Defaults(BaseModel):
    n: int = 4
    x: float = 0.25
    s: str = "hi"
    ok: bool = True
    pick: Literal["a", "b"] = "b"
    color: Color = Color.BLUE
    day: dt.date = dt.date(2026, 1, 2)
    who: Who = Who(name="Ada")
    sizes: list[int] = [1, 2]
    meta: dict[str, int] = {"k": 1}
    maybe: int | None = 7


class Rated(BaseModel):
    score: int = Field(ge=1, le=5)
    zero: int = Field(0, ge=1, le=5)
    three: int = Field(3, ge=1, le=5)
    ratio: float = Field(0.0, gt=0, lt=1)
    name: str = Field("", min_length=2)
    code: str = Field("x", pattern=r"^\d+$")
    even: int = Field(3, multiple_of=2)
    small: Annotated[int, Field(le=2)] = 5


REQUIRED = ["n", "x", "s", "ok", "pick", "color", "day", "at", "who.name", "meta"]


def echo(schema: Any) -> Any:
    return (create_workflow(id="echo", input_schema=schema, output_schema=schema)
            .then(create_step(id="same", input_schema=schema, output_schema=schema,
                              execute=lambda input_data: input_data))
            .commit())


def spec_of(form: Any, path: str) -> dict[str, Any]:
    """The field ``path`` as the browser gets it (the ``tree`` trait), the innermost one."""
    found = None
    stack = [form.tree]
    while stack:
        spec = stack.pop()
        if spec["path"] == path:
            found = spec
        stack.extend([*spec.get("children", ()), *spec.get("items", ()),
                      *([spec["inner"]] if "inner" in spec else [])])
    assert found is not None, path
    return found


def test_required_fields_start_empty_and_are_marked():
    form = InputForm(echo(Everything))
    f = form.fields
    assert f["n"].value is None and f["x"].value is None  # not 0
    assert f["n"].kind == "number" and f["n"].placeholder == "whole number"
    assert f["x"].placeholder == "number" and form.typed["n"] == ""  # an empty box
    assert f["s"].value == "" and f["day"].value == "" and f["at"].value == ""
    assert f["ok"].kind == "yesno" and f["ok"].value is None  # not False
    assert form.typed["ok"] is None and form.typed["pick"] is None  # nothing pressed
    assert f["pick"].value is None and f["color"].value is None  # not the first option
    assert f["who.name"].value == "" and f["who.age"].value is None
    assert f["sizes"].rows == 0 and f["meta"].value == ""
    assert [p for p, field in ((x.path, x) for x in form.root.walk()) if field.marked] \
        == REQUIRED  # a list (no rows is []) and an `X | None` (unset is None) need nothing
    assert spec_of(form, "n")["required"] and spec_of(form, "n")["title"] == "n"
    assert not spec_of(form, "sizes")["required"]  # forms.js marks only the required
    assert [s for s in REQUIRED if spec_of(form, s)["required"]] == REQUIRED
    assert form.values() == {"who": {"age": None}, "sizes": [], "maybe": None}
    assert form.missing() == REQUIRED


async def test_submitting_empty_required_fields_says_field_required_next_to_each():
    wf = echo(Everything)
    form = InputForm(wf)
    form.fields["n"].value = 3
    form.fields["s"].value = "typed"
    assert await form.submit() is None
    rest = [p for p in REQUIRED if p not in ("n", "s")]
    assert form.errors == dict.fromkeys(rest, "Field required")
    for field in form.root.walk():
        shown = field.error or ""
        assert ("Field required" in shown) == (field.path in rest), field.path
    assert form.field_errors == dict.fromkeys(rest, "Field required")  # beside each
    assert "8 fields to fix" in form.message
    assert form.fields["n"].value == 3 and form.fields["s"].value == "typed"  # kept
    assert form.view is None and wf.runs() == []  # nothing started

    for path, value in {"x": 1.5, "ok": False, "pick": "b", "color": Color.RED,
                        "day": "2026-11-21", "at": "2026-11-21T10:00:00",
                        "who.name": "Ada", "meta": '{"k": 2}'}.items():
        form.fields[path].value = value
    result = await form.submit()
    assert form.errors == {} and result.status == "success"
    assert result.result == Everything(
        n=3, x=1.5, s="typed", ok=False, pick="b", color=Color.RED, day=dt.date(2026, 11, 21),
        at=dt.datetime(2026, 11, 21, 10), who=Who(name="Ada"), sizes=[], meta={"k": 2},
        maybe=None)


async def test_fields_with_defaults_show_them_and_submit_them():
    form = InputForm(echo(Defaults))
    f = form.fields
    assert (f["n"].value, f["x"].value, f["s"].value) == (4, 0.25, "hi")
    assert f["ok"].kind == "checkbox" and f["ok"].value is True
    assert (f["pick"].value, f["color"].value, f["day"].value) == ("b", Color.BLUE,
                                                                 "2026-01-02")
    assert f["who.name"].value == "Ada" and f["sizes"].rows == 2 and f["maybe"].value == 7
    assert form.missing() == []
    # only the nested model's own required field is marked (its default filled it in)
    assert [x.path for x in form.root.walk() if x.marked] == ["who.name"]
    assert "default: 4" in str(next(x for x in form.root.walk() if x.path == "n").hint())
    result = await form.submit()
    assert result.result == Defaults()


def test_no_field_starts_with_a_value_its_constraints_refuse():
    form = InputForm(echo(Rated))
    f = form.fields
    starts = {path: w.value for path, w in f.items()}
    assert starts == {"score": None, "zero": None, "three": 3, "ratio": None, "name": "",
                      "code": "", "even": None, "small": None}
    # a refused default makes the field required, and is not offered as a hint either
    assert form.missing() == ["score", "zero", "ratio", "name", "code", "even", "small"]
    assert all(x.marked for x in form.root.walk() if x.path in form.missing())
    zero = next(x for x in form.root.walk() if x.path == "zero")
    assert "default" not in zero.hint() and "≥ 1, ≤ 5" in zero.hint()
    assert "a multiple of 2" in next(x for x in form.root.walk() if x.path == "even").hint()


async def test_refused_defaults_are_field_required_not_silently_submitted():
    wf = echo(Rated)
    form = InputForm(wf)
    assert await form.submit() is None
    assert form.errors == dict.fromkeys(
        ["score", "zero", "ratio", "name", "code", "even", "small"], "Field required")
    for path, value in {"score": 5, "zero": 1, "ratio": 0.5, "name": "Al", "code": "42",
                        "even": 4, "small": 2}.items():
        form.fields[path].value = value
    form.fields["three"].value = 9  # typed over a good default: pydantic still checks it
    assert await form.submit() is None
    assert list(form.errors) == ["three"] and "less than or equal to 5" in form.errors["three"]
    form.fields["three"].value = None  # emptied: its default applies
    result = await form.submit()
    assert result.status == "success" and result.result.three == 3


async def test_an_empty_list_row_is_field_required_in_its_place():
    class Batch(BaseModel):
        sizes: list[int]
        names: list[str] = []

    form = InputForm(echo(Batch))
    form.fields["sizes"].add()
    form.fields["sizes"].add()
    form.fields["sizes.0"].value = 4
    form.fields["names"].add()
    assert form.values() == {"sizes": [4, None], "names": [None]}
    assert await form.submit() is None
    assert form.errors == {"sizes.1": "Field required", "names.0": "Field required"}
    form.fields["sizes.1"].value = 5
    form.fields["names.0"].value = "x"
    assert (await form.submit()).result == Batch(sizes=[4, 5], names=["x"])


def test_an_optional_field_is_set_by_typing_and_unset_by_emptying():
    class Opt(BaseModel):
        limit: int | None = None
        note: str | None = "hello"
        ok: bool | None = None

    root = build_fields(Opt)
    f = root.inputs()
    toggles = {x.path: x for x in root.walk() if x.kind == "optional"}
    assert root.read() == {"limit": None, "note": "hello", "ok": None}
    assert toggles["note"].is_set and not toggles["limit"].is_set
    f["limit"].value = 3
    assert toggles["limit"].is_set and root.read()["limit"] == 3
    f["limit"].value = None
    assert not toggles["limit"].is_set and root.read()["limit"] is None
    assert f["ok"].kind == "checkbox"  # an optional bool: the toggle says "unset"
    assert root.missing() == []
    toggles["note"].is_set = False  # unticked in the page: None, what was typed kept
    assert root.read()["note"] is None and f["note"].value == "hello"


def test_a_number_box_reads_what_the_browser_sends_and_never_rewrites_it():
    class Nums(BaseModel):
        n: int
        ratio: float

    form = InputForm(echo(Nums))
    box, ratio = form.fields["n"], form.fields["ratio"]

    def typed(path: str, text: str) -> None:  # as the page sends a keystroke
        form._on_message(form, {"event": "edit", "path": path, "value": text}, [])

    typed("n", "12")
    assert box.value == 12 and form.typed["n"] == "12"
    typed("n", "")
    assert box.value is None and form.typed["n"] == ""
    typed("n", "abc")  # not a number: kept as typed, pydantic will say why
    assert box.value == "abc" and box.number() == "abc" and form.typed["n"] == "abc"
    typed("ratio", "1.")  # half-typed "1.5": the text is left alone (no cursor jump)
    assert form.typed["ratio"] == "1." and ratio.value == 1.0
    typed("ratio", "0.5")
    assert ratio.value == 0.5
    ratio.value = 2  # from code: the page shows it
    assert form.typed["ratio"] == "2" and isinstance(ratio.number(), float)
    typed("n", 5)  # not text: not what a number box sends, ignored
    assert box.value == "abc"


async def test_a_number_that_is_not_one_is_an_error_with_the_text_kept():
    class N(BaseModel):
        n: int

    form = InputForm(echo(N))
    form._on_message(form, {"event": "edit", "path": "n", "value": "twelve"}, [])
    assert await form.submit() is None
    assert "valid integer" in form.errors["n"] and form.fields["n"].value == "twelve"


def test_list_editor_buttons_are_readable():
    class Tags(BaseModel):
        tags: list[str]

    form = InputForm(echo(Tags))
    tags = spec_of(form, "tags")
    assert tags["kind"] == "list"
    assert (tags["add_label"], tags["load_label"]) == ("add item", "load JSON")
    assert (ADD_LABEL, LOAD_LABEL) == ("add item", "load JSON")
    # sized to their text, never shrunk below it (the browser test measures them drawn)
    css = (Path(forms.__file__).parent / "static" / "forms.css").read_text()
    assert "flex: 0 0 auto; width: auto; white-space: nowrap;" in css


def test_a_single_value_schema_is_required_too():
    root = build_fields(int)
    assert isinstance(root, ScalarField)
    assert root.required and root.marked and root.read() is EMPTY
    assert root.missing() == [""]
    assert build_fields(Any).missing() == [""]  # JSON text, empty


# -- resume forms ---------------------------------------------------------------------------


async def test_resume_form_required_fields_are_empty_marked_and_field_required(store):
    wf = review_workflow()
    run = wf.create_run()
    await run.start({"text": "hi"})
    form = ResumeForm(run)
    f = form.fields
    assert f["approved"].value is None and f["score"].value is None
    assert f["reviewer.name"].value == ""
    assert form.missing() == ["approved", "score", "reviewer.name"]
    assert spec_of(form, "score")["required"]
    assert not spec_of(form, "mood")["required"]  # has a default
    f["score"].value = 12
    assert await form.submit() is None
    assert form.errors["approved"] == "Field required"
    assert form.errors["reviewer.name"] == "Field required"
    assert "less than or equal to 10" in form.errors["score"]
    assert f["score"].value == 12  # what was typed stays
    assert run.status == "suspended" and store.load(run.run_id).status == "suspended"
    assert run.suspended == [["review"]]
    assert not form.answered and form.result is None


def test_resume_form_clicked_with_empty_fields_leaves_the_run_suspended(store):
    wf = review_workflow()
    run = wf.create_run()
    flownb.run_sync(run.start({"text": "hi"}))
    form = ResumeForm(run)
    form.button.click()  # no running loop: the click runs to its end
    assert set(form.errors) == {"approved", "score", "reviewer.name"}
    assert set(form.errors.values()) == {"Field required"}
    assert not form.button.disabled  # try again
    assert run.status == "suspended" and store.load(run.run_id).status == "suspended"
    form.fields["approved"].value = True
    form.fields["score"].value = 4
    form.fields["reviewer.name"].value = "Ada"
    form.button.click()
    assert run.status == "success" and form.answered
    assert run.result.result == Doc(text="hi! yes 4 by Ada")
