"""No control character from a user reaches the terminal (SPEC §7), nor DOT, SVG or HTML.

An error message, a description, an emitted or suspend payload, or a stored run written by
another program may hold ESC/OSC/CSI sequences, carriage returns and bidi overrides. Each
surface prints them as visible escapes (``\\x1b``, ``\\u202e``) instead.
"""

from __future__ import annotations

import json
import time
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flownb._text import BIDI, escape_controls, escape_html, escape_json_controls
from flownb.render.dot import dot_string
from flownb.storage import Snapshot, SQLiteStore

OSC = "\x1b]0;pwned\x07"  # retitles the terminal
CSI = "\x9b2J"  # the one-character CSI: clears the screen on some terminals
RLO = "\u202e"  # right-to-left override ("Trojan source")

HOSTILE = '''
def loud(input_data: Msg, emit):
    emit({"note": "ding\\x07" + "\\x1b[2J"})
    raise ValueError("bad \\x1b]0;pwned\\x07 news\\rOK \\u202eevil")


def waits(input_data: Msg, resume_data: Review | None, suspend):
    if resume_data is None:
        return suspend({"question": "ok\\x9b2J?\\u202e"})
    return {"message": "done"}


loud_wf = (create_workflow(id="loud", input_schema=Msg, output_schema=Msg,
                           description="hi\\x1b[31m red")
           .then(create_step(id="noisy", description="says \\x1b]0;x\\x07",
                             input_schema=Msg, output_schema=Msg, execute=loud))
           .commit())
wait_wf = (create_workflow(id="waiter", input_schema=Msg, output_schema=Msg)
           .then(create_step(id="asks", input_schema=Msg, output_schema=Msg,
                             resume_schema=Review, execute=waits))
           .commit())
'''


def controls(text: str) -> set[str]:
    """The control and bidi characters in ``text``, newline and tab aside."""
    return {ch for ch in text if ch not in "\n\t"
            and (unicodedata.category(ch) == "Cc" or ch in BIDI)}


def test_a_failing_run_prints_its_error_and_events_escaped(cli, write_module, tmp_path):
    path = write_module("hostile", HOSTILE)
    db = str(tmp_path / "runs.db")
    got = cli("--storage", db, "run", f"{path}:loud_wf", "--input", '{"message": "m"}',
              "--run-id", "r1")
    assert got.code == 1
    assert controls(got.out) == set() and controls(got.err) == set()
    assert "bad \\x1b]0;pwned\\x07 news\\rOK \\u202eevil" in got.out
    assert '"ding\\u0007\\u001b[2J"' in got.out  # the emitted payload, as JSON escapes it

    for argv in (("inspect", "r1"), ("runs",), ("inspect", "r1", "--json"),
                 ("runs", "--json")):
        shown = cli("--storage", db, *argv)
        assert shown.code == 0, argv
        assert controls(shown.out) == set(), argv
    report = cli("--storage", db, "inspect", "r1").out
    assert "\\x1b]0;pwned\\x07" in report
    # --json stays the same JSON: the message reads back exactly as it was raised
    data = json.loads(cli("--storage", db, "inspect", "r1", "--json").out)
    assert "\x1b]0;pwned\x07" in data["steps"]["noisy"]["error"]

    outline = cli("show", f"{path}:loud_wf").out
    assert controls(outline) == set() and "hi\\x1b[31m red" in outline


def test_a_suspend_payload_and_the_resume_hint_are_escaped(cli, write_module, tmp_path):
    path = write_module("hostile_wait", HOSTILE)
    db = str(tmp_path / "runs.db")
    got = cli("--storage", db, "run", f"{path}:wait_wf", "--input", '{"message": "m"}',
              "--run-id", "w1")
    assert got.code == 3
    assert controls(got.out + got.err) == set()
    assert "ok\\u009b2J?\\u202e" in got.out
    bad = cli("--storage", db, "resume", "w1", "--data", '{"approved": "\\u001b[2J"}')
    assert bad.code == 2 and controls(bad.err) == set()


def test_a_stored_run_from_elsewhere_is_listed_and_inspected_escaped(cli, tmp_path):
    """A store written by another program (or an older flownb) may hold any id."""
    db = str(tmp_path / "runs.db")
    store = SQLiteStore(db)
    evil = f"run{OSC}{CSI}{RLO}"
    store.insert(Snapshot(
        run_id=evil, workflow_id=f"wf{OSC}", status="failed", version=1, input={"x": OSC},
        steps={f"step{RLO}": {"status": "failed", "error": f"boom{OSC}\r\n", "payload": CSI,
                              "started_at": 1.0, "ended_at": 2.0}},
        graph={"kind": "workflow", "id": f"wf{OSC}", "entries": []}, meta={"origin": f"o{CSI}"},
        created_at=time.time(), updated_at=time.time()))
    store.close()
    listed = cli("--storage", db, "runs")
    assert listed.code == 0 and controls(listed.out) == set()
    assert "\\x1b]0;pwned\\x07" in listed.out
    report = cli("--storage", db, "inspect", evil)
    assert report.code == 0, report.err
    assert controls(report.out) == set() and "step\\u202e" in report.out
    missing = cli("--storage", db, "inspect", f"nope{OSC}")
    assert missing.code != 0 and controls(missing.err) == set()
    assert "nope\\x1b]0;pwned\\x07" in missing.err


# -- the helpers, as properties --------------------------------------------------------------

@given(st.text())
def test_escape_controls_leaves_no_control_character(text):
    line = escape_controls(text)
    assert controls(line) == set() and "\n" not in line and "\t" not in line
    block = escape_controls(text, keep_newlines=True)
    assert controls(block) == set()
    assert block.count("\n") == text.count("\n")
    # Nothing but control characters changes: text without them is returned as it was.
    if not controls(text) and "\n" not in text and "\t" not in text:
        assert line == text


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(), inner, max_size=3), max_leaves=10))
def test_escaped_json_is_the_same_json(value):
    for indent in (None, 2):
        text = escape_json_controls(json.dumps(value, ensure_ascii=False, indent=indent))
        assert controls(text) == set()
        assert json.loads(text) == value


@given(st.text())
def test_html_and_dot_strings_hold_no_control_character_or_markup(text):
    shown = escape_html(text)
    assert controls(shown) == set() and "<" not in shown and '"' not in shown
    quoted = dot_string(text)
    assert controls(quoted) == set() and "\n" not in quoted
    assert '"' not in quoted[1:-1].replace('\\"', "")


@pytest.mark.parametrize("surface", ["svg", "dot"])
def test_the_graph_of_a_hostile_description_is_valid_svg(surface):
    """Control characters make an SVG invalid XML; escaped, the graph parses."""
    from pydantic import BaseModel

    from flownb import create_step, create_workflow

    class M(BaseModel):
        x: int

    wf = (create_workflow(id="g", input_schema=M, output_schema=M,
                          description=f"d{OSC}{RLO}")
          .then(create_step(id="s", description=f"step{CSI}\x00", input_schema=M,
                            output_schema=M, execute=lambda input_data: input_data))
          .commit())
    dot = wf.to_dot()
    assert controls(dot) == set()
    if surface == "svg":
        import xml.etree.ElementTree as ET

        try:
            svg = wf.to_svg()
        except RuntimeError:
            pytest.skip("no Graphviz program")
        ET.fromstring(svg)  # parses: no raw control character
        assert controls(svg) == set()
