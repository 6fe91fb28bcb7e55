"""The ``flownb`` command in this process (``main(argv)``): run, resume, runs, show, inspect."""

from __future__ import annotations

import io
import json
import re

import pytest

import flownb
from flownb.render import workflow_dot
from flownb.storage import SQLiteStore
from flownb.terminal.loader import import_module


@pytest.fixture
def db(tmp_path):
    """The SQLite file the CLI stores runs in (``--storage``)."""
    return str(tmp_path / "runs.db")


def lines(text):
    """``text``'s lines without the spaces rich pads table cells with."""
    return [line.rstrip() for line in text.splitlines()]


def stored(db, run_id):
    """The snapshot of ``run_id`` as another process would read it."""
    store = SQLiteStore(db)
    try:
        return store.load(run_id)
    finally:
        store.close()


# -- run --------------------------------------------------------------------------------------


def test_run_prints_plain_progress_and_the_result(cli, write_module, db, still_clock):
    path = write_module("flows", "greet")
    got = cli("--storage", db, "run", f"{path}:greet", "--input", '{"message": "hi"}',
              "--run-id", "r1")
    assert got.code == 0 and got.err == ""
    assert got.out == """\
run r1 of workflow 'greet' started
» shout  {"progress": 1}
✓ shout  success  0 ms
╭─ ✓ result ────────╮
│ {"message": "HI"} │
╰───────────────────╯
"""
    snap = stored(db, "r1")
    assert snap.status == "success" and snap.meta["origin"] == f"{path}:greet"


def test_run_json_prints_the_result_dict(cli, write_module, db):
    path = write_module("flows", "greet")
    got = cli("--storage", db, "run", str(path), "--input", '{"message": "hi"}', "--json")
    assert got.code == 0
    data = json.loads(got.out)
    assert data["status"] == "success" and data["result"] == {"message": "HI"}
    assert list(data["steps"]) == ["shout"]
    assert set(data) == {"status", "run_id", "workflow_id", "result", "error", "steps",
                         "suspended", "state"}


def test_run_reads_input_from_a_file_and_a_dotted_module(cli, write_module, db, tmp_path,
                                                        monkeypatch):
    write_module("dotted_flows", "greet")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.json").write_text('{"message": "file"}')
    got = cli("--storage", db, "run", "dotted_flows:greet", "--input-file", "in.json",
              "--json")
    assert got.code == 0 and json.loads(got.out)["result"] == {"message": "FILE"}
    assert stored(db, json.loads(got.out)["run_id"]).meta["origin"] == "dotted_flows:greet"


def test_a_failed_run_exits_1_and_names_the_step(cli, write_module, db, still_clock):
    path = write_module("flows", "failing")
    got = cli("--storage", db, "run", f"{path}:failing", "--input", '{"message": "x"}',
              "--run-id", "r2", "--no-live")
    assert got.code == 1
    out = lines(got.out)
    assert out[:4] == [
        "run r2 of workflow 'failing' started",
        '» shout  {"progress": 1}',
        "✓ shout  success  0 ms",
        "✗ explode  failed  0 ms  ValueError: no way",
    ]
    assert out[4:7] == ["╭─ ✗ failed at step 'explode' ──────────────╮",
                        "│ step 'explode' failed: ValueError: no way │",
                        "╰───────────────────────────────────────────╯"]
    # then the traceback, from the user's frame (the engine's and the thread pool's are
    # not shown): where in their code it failed, each line whole
    assert out[7] == "Traceback (most recent call last):"
    assert re.fullmatch(rf'  File "{re.escape(str(path))}", line \d+, in boom', out[8])
    assert out[9:] == ['    raise ValueError("no way")', "ValueError: no way"]
    assert "flownb" not in got.out.replace(str(db), "")
    assert stored(db, "r2").status == "failed"
    # a stored run has its error, not the exception: inspect shows the error alone
    inspected = cli("--storage", db, "inspect", "r2").out
    assert "ValueError: no way" in inspected and "Traceback" not in inspected


def test_a_suspended_run_exits_3_and_prints_the_resume_command(cli, write_module, db,
                                                               still_clock):
    path = write_module("flows", "review")
    got = cli("--storage", db, "run", f"{path}:review", "--input", '{"message": "x"}',
              "--run-id", "r3")
    assert got.code == 3
    assert got.out == f"""\
run r3 of workflow 'review' started
» shout  {{"progress": 1}}
✓ shout  success  0 ms
‖ approve  suspended  {{"question": "publish X?"}}
╭─ ‖ suspended at step 'approve' ─╮
│ {{"question": "publish X?"}}      │
╰─────────────────────────────────╯
to continue: flownb --storage {db} resume r3
"""
    assert stored(db, "r3").status == "suspended"


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "{path}:greet", "--input", "{nope"],
     "flownb: error: --input is not valid JSON: Expecting property name enclosed in double "
     "quotes: line 1 column 2 (char 1)"),
    (["run", "{path}:greet", "--input", '{"msg": 1}'],
     "flownb: error: invalid input for workflow 'greet': message: Field required"),
    (["run", "{path}:nope"],
     "flownb: error: module '{path}' has no attribute 'nope' (workflows there: greet, review)"),
    (["run", "{path}"],
     "flownb: error: module '{path}' holds several workflows (greet, review); name one, e.g. "
     "{path}:greet"),
    (["run", "{path}:Msg"],
     "flownb: error: '{path}:Msg' is a ModelMetaclass, not a flownb Workflow or Registry"),
    (["run", "no_such_module_xyz:wf"],
     "flownb: error: cannot import module 'no_such_module_xyz': no module named "
     "'no_such_module_xyz' (run from the directory that holds it, or give the path to its "
     ".py file)"),
    (["run", "missing.py:wf"], "flownb: error: no such file: 'missing.py'"),
    (["run", "{path}:greet", "--input", "{}", "--input-file", "x"],
     "flownb: error: argument --input-file: not allowed with argument --input (see 'flownb "
     "run --help')"),
    ([], "flownb: error: the following arguments are required: COMMAND (see 'flownb --help')"),
    (["resume", "nope"], "flownb: error: no stored run 'nope' in '{db}'"),
    (["inspect", "nope"], "flownb: error: no stored run 'nope' in '{db}'"),
    (["show", "{path}:greet", "-o", "graph.pdf"],
     "flownb: error: cannot write 'graph.pdf': unknown format '.pdf'; use a .svg, .png or "
     ".dot file"),
])
def test_bad_usage_exits_2_with_one_line(cli, write_module, db, argv, message):
    path = write_module("flows", "greet", "review")
    got = cli("--storage", db, *(a.replace("{path}", str(path)) for a in argv))
    assert got.code == 2 and got.out == ""
    assert got.err == message.replace("{path}", str(path)).replace("{db}", db) + "\n"


def test_an_unknown_command_is_one_line(cli):
    got = cli("frobnicate")
    assert got.code == 2 and got.err.count("\n") == 1
    assert got.err.startswith("flownb: error: argument COMMAND: invalid choice: 'frobnicate'")
    assert got.err.endswith("(see 'flownb --help')\n")


def test_an_error_while_importing_the_module_is_one_line(cli, write_module):
    path = write_module("broken", "greet", "\nraise RuntimeError('cannot start\\nat all')\n")
    line = path.read_text().splitlines().index("raise RuntimeError('cannot start\\nat all')")
    got = cli("run", f"{path}:greet")
    assert got.code == 2
    assert got.err == (f"flownb: error: importing '{path}' failed (broken.py, line "
                       f"{line + 1}): RuntimeError: cannot start\n")


def test_a_module_with_one_workflow_needs_no_name(cli, write_module, db):
    outer = '''
    inner = create_workflow(id="inner", input_schema=Msg, output_schema=Msg) \\
        .then(shout_step()).commit()
    outer = create_workflow(id="outer", input_schema=Msg, output_schema=Msg) \\
        .then(inner).commit()
    '''
    path = write_module("nested", outer)  # the nested workflow is part of the outer one
    got = cli("--storage", db, "run", str(path), "--input", '{"message": "a"}', "--json")
    assert got.code == 0 and json.loads(got.out)["workflow_id"] == "outer"
    assert stored(db, json.loads(got.out)["run_id"]).meta["origin"] == f"{path}:outer"


def test_a_registry_is_chosen_by_workflow_name(cli, write_module, db):
    registry = '''
    registry = Registry(workflows={"greeter": greet, "reviewer": review})
    '''
    path = write_module("reg", "greet", "review", registry)
    got = cli("--storage", db, "run", f"{path}:registry", "--workflow", "greeter",
              "--input", '{"message": "a"}', "--json")
    assert got.code == 0 and json.loads(got.out)["result"] == {"message": "A"}
    got = cli("--storage", db, "run", f"{path}:registry", "--input", "{}")
    assert got.code == 2 and got.err == (
        f"flownb: error: '{path}:registry' is a registry; choose a workflow with --workflow "
        "NAME (known: greeter, reviewer)\n")
    got = cli("--storage", db, "run", f"{path}:registry", "--workflow", "nope")
    assert got.code == 2 and got.err == (
        f"flownb: error: '{path}:registry': no workflow named 'nope' in this registry "
        "(known: 'greeter', 'reviewer')\n")
    got = cli("--storage", db, "show", f"{path}:greet", "--workflow", "greeter")
    assert got.code == 2 and "--workflow NAME only applies to a registry" in got.err


def test_a_run_id_cannot_be_used_twice(cli, write_module, db):
    path = write_module("flows", "greet")
    assert cli("--storage", db, "run", str(path), "--input", '{"message": "a"}',
               "--run-id", "same", "--json").code == 0
    got = cli("--storage", db, "run", str(path), "--input", '{"message": "a"}',
              "--run-id", "same")
    assert got.code == 2
    assert got.err.startswith("flownb: error: run 'same' of workflow 'greet' was already "
                              "started (its status is success)")


# -- resume -----------------------------------------------------------------------------------


def start_review(cli, path, db, run_id="r"):
    got = cli("--storage", db, "run", f"{path}:review", "--input", '{"message": "doc"}',
              "--run-id", run_id, "--json")
    assert got.code == 3
    assert got.err == f"to continue: flownb --storage {db} resume {run_id}\n"
    return run_id


def test_resume_with_data_finishes_the_run(cli, write_module, db, still_clock):
    path = write_module("flows", "review")
    start_review(cli, path, db)
    got = cli("--storage", db, "resume", "r", "--data",
              '{"approved": true, "score": 4, "level": "high"}')
    assert got.code == 0
    assert got.out == """\
run r of workflow 'review' resumed
✓ approve  success  0 ms
╭─ ✓ result ────────────────╮
│ {"message": "DOC 4 high"} │
╰───────────────────────────╯
"""
    assert stored(db, "r").status == "success"
    got = cli("--storage", db, "resume", "r", "--data", "{}")
    assert got.code == 2 and got.err == ("flownb: error: run 'r' of workflow 'review' has status "
                                         "success, not suspended; there is nothing to resume\n")


def test_invalid_resume_data_exits_2_and_the_run_stays_suspended(cli, write_module, db):
    path = write_module("flows", "review")
    start_review(cli, path, db)
    before = stored(db, "r")
    got = cli("--storage", db, "resume", "r", "--data", '{"approved": true, "score": 9}')
    assert got.code == 2 and got.out == ""
    assert got.err == ("flownb: error: invalid resume data for step 'approve' of workflow "
                       "'review': score: Input should be less than or equal to 5 (the run "
                       "is still suspended)\n")
    after = stored(db, "r")
    assert after.status == "suspended" and after.version == before.version
    assert after.to_json() == before.to_json()
    got = cli("--storage", db, "resume", "r", "--data", "[oops")
    assert got.code == 2 and got.err.startswith("flownb: error: --data is not valid JSON: ")


def test_resume_without_data_off_a_terminal_says_what_is_needed(cli, write_module, db):
    path = write_module("flows", "review")
    start_review(cli, path, db)
    got = cli("--storage", db, "resume", "r")
    assert got.code == 2
    assert got.err == ("flownb: error: step 'approve' of workflow 'review' needs resume data "
                       "(approved, score, level); pass --data JSON (there is no terminal to "
                       "ask on)\n")


def test_resume_picks_among_several_suspended_steps(cli, write_module, db):
    path = write_module("flows", "both")
    got = cli("--storage", db, "run", f"{path}:both", "--input", '{"message": "m"}',
              "--run-id", "two", "--no-live")
    assert got.code == 3
    assert got.out.splitlines()[-1] == (
        f"to continue: flownb --storage {db} resume two --step left")
    got = cli("--storage", db, "resume", "two", "--data", '{"approved": true, "score": 1}')
    assert got.code == 2 and got.err == (
        "flownb: error: run 'two' of workflow 'both' has several suspended steps (left, "
        "right); pass --step\n")
    got = cli("--storage", db, "resume", "two", "--step", "middle", "--data", "{}")
    assert got.code == 2 and got.err == (
        "flownb: error: run 'two' of workflow 'both': step 'middle' is not suspended "
        "(suspended: 'left', 'right')\n")
    got = cli("--storage", db, "resume", "two", "--step", "left", "--json", "--data",
              '{"approved": true, "score": 1}')
    assert got.code == 3 and json.loads(got.out)["suspended"] == [["right"]]
    assert got.err == f"to continue: flownb --storage {db} resume two\n"
    got = cli("--storage", db, "resume", "two", "--json", "--data",
              '{"approved": false, "score": 2}')
    assert got.code == 0 and json.loads(got.out)["result"] == {
        "left": {"message": "m 1 low"}, "right": {"message": "m 2 low"}}


def test_resume_of_a_run_not_started_by_the_cli_needs_workflow(cli, write_module, db):
    path = write_module("flows", "review")
    flownb.configure(storage=db)
    module, _ = import_module(str(path))
    run = module.review.create_run(run_id="api")
    assert flownb.run_sync(run.start(input_data={"message": "a"})).status == "suspended"
    got = cli("--storage", db, "resume", "api", "--data", '{"approved": true, "score": 3}')
    assert got.code == 2 and got.err == (
        "flownb: error: run 'api' of workflow 'review' was not started by 'flownb run', so "
        "where its workflow is defined is unknown; pass --workflow MODULE:WF\n")
    got = cli("--storage", db, "resume", "api", "--workflow", f"{path}:greet", "--data", "{}")
    assert got.code == 2 and "has no attribute 'greet'" in got.err
    got = cli("--storage", db, "resume", "api", "--workflow", f"{path}:review", "--data",
              '{"approved": true, "score": 3}', "--json")
    assert got.code == 0 and json.loads(got.out)["result"] == {"message": "A 3 low"}


# -- runs, show, inspect ----------------------------------------------------------------------


def test_runs_lists_stored_runs_as_a_table_or_json(cli, write_module, db, still_clock):
    path = write_module("flows", "greet", "review")
    cli("--storage", db, "run", f"{path}:greet", "--input", '{"message": "a"}',
        "--run-id", "g1", "--json")
    start_review(cli, path, db, "r1")
    got = cli("--storage", db, "runs")
    assert got.code == 0
    assert lines(got.out) == [
        "run id  workflow  status                created",
        "r1      review    ‖ suspended: approve  1970-01-01 00:16:40",
        "g1      greet     ✓ success             1970-01-01 00:16:40",
    ]
    got = cli("--storage", db, "runs", "--status", "suspended", "--json")
    assert [r["run_id"] for r in json.loads(got.out)] == ["r1"]
    got = cli("--storage", db, "runs", "--workflow", "greet", "--json")
    assert [r["run_id"] for r in json.loads(got.out)] == ["g1"]
    got = cli("--storage", db, "runs", "--workflow", "nope")
    assert got.out == f"no stored runs in '{db}' matching the filters\n"
    got = cli("--storage", db, "runs", "--status", "weird")
    assert got.code == 2 and "invalid choice: 'weird'" in got.err


def test_show_prints_an_outline_or_writes_a_graph(cli, write_module, tmp_path):
    path = write_module("flows", "review")
    got = cli("show", str(path))
    assert got.code == 0
    assert got.out == """\
workflow review  Msg → Msg
├── shout  Msg → Msg
└── approve  Msg → Msg  can suspend  A person approves
"""
    module, _ = import_module(str(path))
    for suffix in ("dot", "svg", "png"):
        target = tmp_path / f"graph.{suffix}"
        got = cli("show", str(path), "-o", str(target))
        assert got.code == 0 and got.out == f"wrote {target}\n"
    assert (tmp_path / "graph.dot").read_text() == workflow_dot(
        module.review.graph.description)
    assert (tmp_path / "graph.svg").read_text().startswith("<svg")
    assert (tmp_path / "graph.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_show_names_every_type_bare(cli, write_module):
    path = write_module("typed_flows", """
class Word(BaseModel):
    text: str


words = create_step(id="words", input_schema=Msg, output_schema=list[Word],
                    execute=lambda input_data: [])
maybe = create_step(id="maybe", input_schema=list[Word], output_schema=dict[str, Word | None],
                    execute=lambda input_data: {})
typed = (create_workflow(id="typed", input_schema=Msg, output_schema=dict[str, Word | None])
         .then(words).then(maybe).commit())
""")
    got = cli("show", f"{path}:typed")
    assert got.code == 0
    assert got.out == """\
workflow typed  Msg → dict[str, Word | None]
├── words  Msg → list[Word]
└── maybe  list[Word] → dict[str, Word | None]
"""


def _png_size(path):
    header = path.read_bytes()[:24]
    assert header.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def test_show_png_is_drawn_at_twice_graphvizs_dpi_unless_scaled(cli, write_module, tmp_path):
    path = write_module("flows", "review")
    sizes = {}
    for name, scale in (("plain", ()), ("one", ("--scale", "1")), ("three", ("--scale", "3"))):
        target = tmp_path / f"{name}.png"
        assert cli("show", str(path), "-o", str(target), *scale).code == 0
        sizes[name] = _png_size(target)
    (w1, h1), (w2, h2), (w3, h3) = sizes["one"], sizes["plain"], sizes["three"]
    assert abs(w2 - 2 * w1) <= 2 and abs(h2 - 2 * h1) <= 2
    assert abs(w3 - 3 * w1) <= 3 and abs(h3 - 3 * h1) <= 3
    got = cli("show", str(path), "-o", str(tmp_path / "g.png"), "--scale", "0")
    assert got.code == 2 and got.err == ("flownb: error: --scale must be more than 0 and at "
                                         "most 10, not 0\n")
    got = cli("show", str(path), "-o", str(tmp_path / "g.svg"), "--scale", "2")
    assert got.code == 2 and got.err == ("flownb: error: --scale is for a PNG: use it with "
                                         "-o FILE.png\n")


def test_show_without_graphviz_is_one_line(cli, write_module, tmp_path, monkeypatch):
    path = write_module("flows", "greet")

    def missing() -> str:
        raise RuntimeError("flownb draws graphs with Graphviz but found no Graphviz program")

    monkeypatch.setattr("flownb.render.svg.find_dot", missing)
    got = cli("show", str(path), "-o", str(tmp_path / "g.png"))
    assert got.code == 1 and got.err == ("flownb: error: flownb draws graphs with Graphviz "
                                         "but found no Graphviz program\n")


def test_inspect_shows_a_stored_run(cli, write_module, db, still_clock):
    path = write_module("flows", "review")
    start_review(cli, path, db, "r9")
    got = cli("--storage", db, "inspect", "r9")
    assert got.code == 0
    assert lines(got.out) == [
        "run       r9",
        "workflow  review",
        "status    ‖ suspended",
        "created   1970-01-01 00:16:40",
        "updated   1970-01-01 00:16:40",
        f"origin    {path}:review",
        'input     {"message": "doc"}',
        "",
        "‖ review  suspended  0 ms",
        "├── ✓ shout  0 ms",
        "└── ‖ approve  0 ms  waiting for resume",
        "",
        "steps",
        "step     status       duration  tries  input               output",
        'shout    ✓ success        0 ms      1  {"message": "doc"}  {"message": "DOC"}',
        'approve  ‖ suspended      0 ms      1  {"message": "DOC"}  {"question": "publish DOC…',
        "",
        "timeline",
        "      at  event           step     payload",
        '+0.000 s  step-start      shout    {"input": {"message": "doc"}}',
        '+0.000 s  step-result     shout    {"status": "success", "output": {"message": "DOC"}}',
        '+0.000 s  step-start      approve  {"input": {"message": "DOC"}}',
        '+0.000 s  step-suspended  approve  {"suspend_payload": {"question": "publish DOC?"}}',
        "",
        "suspensions",
        'approve  asked   {"question": "publish DOC?"}',
        "         answer  none yet: waiting since 1970-01-01 00:16:40",
        "",
        "╭─ ‖ suspended at step 'approve' ─╮",
        '│ {"question": "publish DOC?"}    │',
        "╰─────────────────────────────────╯",
    ]
    got = cli("--storage", db, "inspect", "r9", "--json")
    assert json.loads(got.out) == stored(db, "r9").to_json()


def test_inspect_shows_the_question_the_answer_and_when_it_was_answered(
        cli, write_module, db, monkeypatch):
    path = write_module("flows", "review")
    clock = iter(range(1000, 2000))
    monkeypatch.setattr("flownb.core.clock.now", lambda: float(next(clock)))
    monkeypatch.setenv("TZ", "UTC")
    start_review(cli, path, db, "r9")
    monkeypatch.setattr("flownb.core.clock.now", lambda: 4600.0)  # answered an hour later
    assert cli("--storage", db, "resume", "r9", "--data",
               '{"approved": true, "score": 3}', "--json").code == 0
    out = lines(cli("--storage", db, "inspect", "r9").out)
    at = out.index("suspensions")
    assert out[at:at + 5] == [
        "suspensions",
        'approve  asked     {"question": "publish DOC?"}',
        '         answer    {"approved": true, "score": 3, "level": "low"}',
        "         answered  1970-01-01 01:16:40",
        "",
    ]
    assert any(line.startswith('+3600.000 s  step-resumed  approve  {"resume_data": '
                               '{"approved": true, "score": 3') for line in out)
    # the answered run's outcome: its result, as before
    assert out[-2:] == ['│ {"message": "DOC 3 low"} │', "╰──────────────────────────╯"]


def test_runs_lists_the_latest_20_and_says_how_many_more(cli, write_module, db, still_clock):
    path = write_module("flows", "greet")
    flownb.configure(storage=db)
    module, _ = import_module(str(path))
    for n in range(25):
        run = module.greet.create_run(run_id=f"g{n:02d}")
        assert flownb.run_sync(run.start({"message": "a"})).status == "success"
    listed = lines(cli("--storage", db, "runs").out)
    assert len(listed) == 1 + 20 + 1
    assert listed[-1] == ("… 5 more: the latest 20 of 25 runs are listed (--limit N or --all "
                          "lists more)")
    listed = lines(cli("--storage", db, "runs", "--limit", "3").out)
    assert len(listed) == 1 + 3 + 1 and listed[-1].startswith("… 22 more: the latest 3 of 25")
    assert len(lines(cli("--storage", db, "runs", "--all").out)) == 1 + 25
    assert len(json.loads(cli("--storage", db, "runs", "--json").out)) == 25
    assert len(json.loads(cli("--storage", db, "runs", "--json", "--limit", "2").out)) == 2
    got = cli("--storage", db, "runs", "--limit", "0")
    assert got.code == 2 and "expected a whole number of 1 or more, not '0'" in got.err
    got = cli("--storage", db, "runs", "--limit", "3", "--all")
    assert got.code == 2 and "not allowed with argument" in got.err


FOREACH = """
class N(BaseModel):
    n: int


def double(input_data: N, resume_data: Review | None, suspend):
    if input_data.n == 150 and resume_data is None:
        return suspend({"check": input_data.n})
    return {"n": input_data.n * 2}


def spread(input_data: N):
    return [{"n": i} for i in range(input_data.n)]


many = (create_workflow(id="many", input_schema=N, output_schema=list[N])
        .then(create_step(id="spread", input_schema=N, output_schema=list[N], execute=spread))
        .foreach(create_step(id="double", input_schema=N, output_schema=N, resume_schema=Review,
                             execute=double), concurrency=4)
        .commit())
"""


def test_inspect_folds_a_long_foreach_unless_all(cli, write_module, db, still_clock):
    path = write_module("fe_flows", FOREACH)
    flownb.configure(storage=db)
    module, _ = import_module(str(path))
    run = module.many.create_run(run_id="m1")
    assert flownb.run_sync(run.start({"n": 200})).status == "suspended"
    out = lines(cli("--storage", db, "inspect", "m1").out)
    assert len(out) < 60
    steps = out.index("steps")
    rows = [line.split()[0] for line in out[steps + 1:out.index("timeline") - 1]]
    assert rows == ["step", "spread", "double", "double[…]", "double[150]", "double[…]:"]
    assert out[steps + 4].split() == ["double[…]", "✓", "199", "success", "199", "folded"]
    assert out[steps + 6] == ("double[…]: 199 of 200 recorded items folded; --all lists "
                              "every item")
    assert "+0.000 s  …               double[…]    398 events of 199 folded items" in out
    assert 'double[150]  asked   {"check": 150}' in out
    everything = lines(cli("--storage", db, "inspect", "m1", "--all").out)
    assert len(everything) > 600 and "double[199]" in "\n".join(everything)
    run = module.many.create_run(run_id="m1")
    done = flownb.run_sync(run.resume(step="double[150]",
                                      resume_data={"approved": True, "score": 2}))
    assert done.status == "success"
    out = lines(cli("--storage", db, "inspect", "m1").out)
    assert out[-1] == "… and 182 more items (--all shows the whole result)"  # a record a line
    assert len(out) < 60


def test_help_and_version_exit_0(cli):
    got = cli("--help")
    assert got.code == 0 and "{run,resume,runs,show,inspect}" not in got.out
    assert "resume a suspended run" in got.out
    got = cli("--version")
    assert got.code == 0 and got.out == f"flownb {flownb.__version__}\n"


def test_a_registry_run_resumes_through_its_origin(cli, write_module, db):
    registry = '''
    registry = Registry(workflows={"greeter": greet, "reviewer": review})
    '''
    path = write_module("reg", "greet", "review", registry)
    got = cli("--storage", db, "run", f"{path}:registry", "--workflow", "reviewer",
              "--input", '{"message": "a"}', "--run-id", "via-reg", "--json")
    assert got.code == 3 and stored(db, "via-reg").meta["origin"] == f"{path}:registry"
    got = cli("--storage", db, "resume", "via-reg", "--json", "--data",
              '{"approved": true, "score": 5}')
    assert got.code == 0 and json.loads(got.out)["result"] == {"message": "A 5 low"}


def test_user_text_with_markup_is_shown_as_written(cli, write_module, db, monkeypatch,
                                                   still_clock):
    source = '''
    odd = create_step(id="odd", description="closes [/] nothing",
                      input_schema=Msg, output_schema=Msg,
                      execute=lambda input_data: {"message": "[red]" + input_data.message})
    marked = create_workflow(id="marked", input_schema=Msg, output_schema=Msg,
                             description="[i]not italic") \\
        .then(odd).commit()
    '''
    path = write_module("marked", source)
    got = cli("show", str(path))
    assert got.out == """\
workflow marked  Msg → Msg  [i]not italic
└── odd  Msg → Msg  closes [/] nothing
"""
    monkeypatch.setattr("sys.stdin", io.StringIO('{"message": "[/b]"}'))
    got = cli("--storage", db, "run", str(path), "--input-file", "-", "--run-id", "m")
    assert got.code == 0
    assert got.out == """\
run m of workflow 'marked' started
✓ odd  success  0 ms
╭─ ✓ result ───────────────╮
│ {"message": "[red][/b]"} │
╰──────────────────────────╯
"""
    got = cli("--storage", db, "inspect", "m")
    assert got.code == 0
    assert "\n└── ✓ odd  0 ms\n" in got.out
    row = next(line for line in lines(got.out) if line.startswith("odd "))
    assert row.split()[:4] == ["odd", "✓", "success", "0"]
    assert row.endswith('{"message": "[/b]"}  {"message": "[red][/b]"}')
    assert lines(cli("--storage", db, "runs").out)[1] == \
        "m       marked    ✓ success  1970-01-01 00:16:40"


def test_storage_may_follow_the_command(cli, write_module, db):
    path = write_module("flows", "greet")
    got = cli("run", str(path), "--storage", db, "--input", '{"message": "x"}', "--json")
    run_id = json.loads(got.out)["run_id"]
    assert got.code == 0 and stored(db, run_id).status == "success"
    got = cli("runs", "--storage", db, "--json")
    assert [r["run_id"] for r in json.loads(got.out)] == [run_id]


class _Typed(io.StringIO):
    """Standing in for a terminal's stdin: answers, one a line."""

    def isatty(self) -> bool:
        return True


def test_resume_on_a_terminal_asks_which_step_and_each_field(cli, write_module, db,
                                                             monkeypatch, still_clock):
    path = write_module("flows", "both")
    assert cli("--storage", db, "run", f"{path}:both", "--input", '{"message": "m"}',
               "--run-id", "two", "--json").code == 3
    monkeypatch.setattr("sys.stdin", _Typed("middle\nright\ny\nx\n2\n\n"))
    got = cli("--storage", db, "resume", "two")
    assert got.code == 3
    assert got.out == f"""\
Several steps are suspended; resume which? [left/right]: Please select one of the available \
options
Several steps are suspended; resume which? [left/right]: ╭─ ‖ step 'right' of workflow 'both' \
is waiting ─╮
│ {{"question": "publish m?"}}                     │
╰────────────────────────────────────────────────╯
A person approves
approved (bool) [y/n]: score (int, ≥ 1, ≤ 5) from 1 to 5:   ✗ score: Input should be a valid \
integer, unable to parse string as an integer
score (int, ≥ 1, ≤ 5) from 1 to 5: level (choice) [low/high] (low): run two of workflow 'both' \
resumed
✓ right  success  0 ms
╭─ ‖ suspended at step 'left' ─╮
│ {{"question": "publish m?"}}   │
╰──────────────────────────────╯
to continue: flownb --storage {db} resume two
"""
    snap = stored(db, "two")
    assert snap.status == "suspended" and snap.meta["suspended_paths"] == [["left"]]
    assert snap.steps["right"]["resume_payload"] == {"approved": True, "score": 2,
                                                     "level": "low"}


def test_show_direction_lays_the_graph_out_left_to_right(cli, write_module, tmp_path):
    path = write_module("flows", "review")
    module, _ = import_module(str(path))
    got = cli("show", str(path), "-o", str(tmp_path / "g.dot"), "--direction", "LR")
    assert got.code == 0
    assert (tmp_path / "g.dot").read_text() == workflow_dot(module.review.graph.description,
                                                            direction="LR")
    assert 'rankdir="LR"' in (tmp_path / "g.dot").read_text()
    sizes = {}
    for direction in ("TB", "LR"):
        target = tmp_path / f"{direction}.png"
        assert cli("show", str(path), "-o", str(target), "--direction", direction).code == 0
        sizes[direction] = _png_size(target)
    (tb_w, tb_h), (lr_w, lr_h) = sizes["TB"], sizes["LR"]
    assert tb_h > tb_w and lr_w > lr_h
    got = cli("show", str(path), "-o", str(tmp_path / "g.svg"), "--direction", "LR")
    assert got.code == 0 and (tmp_path / "g.svg").read_text().startswith("<svg")
    got = cli("show", str(path), "-o", str(tmp_path / "g.svg"), "--direction", "up")
    assert got.code == 2 and "invalid choice: 'up' (choose from 'TB', 'LR')" in got.err
    got = cli("show", str(path), "--direction", "LR")  # an outline has no direction
    assert got.code == 2 and got.out == ""
    assert "--direction is for a drawn graph: use it with -o FILE.svg" in got.err


def test_run_break_pauses_before_the_step_exits_3_and_resume_continues(cli, write_module, db,
                                                                       still_clock):
    path = write_module("flows", "review")
    got = cli("--storage", db, "run", f"{path}:review", "--input", '{"message": "x"}',
              "--run-id", "r5", "--break", "shout", "--break", "approve", "--no-live")
    assert got.code == 3 and got.err == ""
    assert got.out == f"""\
run r5 of workflow 'review' started
‖ shout  suspended  {{"breakpoint": "before", "input": {{"message": "x"}}}}
╭─ ‖ suspended at step 'shout' ───────────────────────╮
│ {{"breakpoint": "before", "input": {{"message": "x"}}}} │
╰─────────────────────────────────────────────────────╯
to continue: flownb --storage {db} resume r5
"""
    snap = stored(db, "r5")
    assert snap.status == "suspended" and snap.meta["breakpoints"] == ["approve", "shout"]
    got = cli("--storage", db, "resume", "r5", "--no-live")
    assert got.code == 3
    assert lines(got.out)[:3] == ["run r5 of workflow 'review' resumed",
                                  '» shout  {"progress": 1}', "✓ shout  success  0 ms"]
    assert stored(db, "r5").steps["approve"]["suspend_payload"] == {
        "breakpoint": "before", "input": {"message": "X"}}
    # 'approve' asks for resume data itself, but at its breakpoint it takes an input.
    got = cli("--storage", db, "resume", "r5", "--data", '{"approved": true, "score": 5}')
    assert got.code == 2 and "paused at a breakpoint: it takes no resume data" in got.err
    got = cli("--storage", db, "resume", "r5", "--input", '{"message": "edited"}',
              "--no-live", "--json")
    assert got.code == 3 and json.loads(got.out)["suspended"] == [["approve"]]
    assert stored(db, "r5").steps["approve"]["suspend_payload"] == {
        "question": "publish edited?"}  # it ran with the edited input, and now asks
    got = cli("--storage", db, "resume", "r5", "--input", '{"message": "again"}')
    assert got.code == 2 and "--input is for a breakpoint" in got.err
    got = cli("--storage", db, "resume", "r5", "--data", '{"approved": true, "score": 5}',
              "--json")
    assert got.code == 0 and json.loads(got.out)["result"] == {"message": "edited 5 low"}


def test_run_break_on_an_unknown_step_is_an_error_naming_the_steps(cli, write_module, db):
    path = write_module("flows", "greet")
    got = cli("--storage", db, "run", f"{path}:greet", "--input", '{"message": "x"}',
              "--break", "nope")
    assert got.code != 0 and got.out == ""
    assert got.err == ("flownb: error: workflow 'greet' has no step 'nope' to set a "
                       "breakpoint on; its steps: 'shout' (or '*': every step)\n")


UNLUCKY = '''
def square(input_data: int) -> int:
    if input_data == 7:
        raise ValueError("7 is unlucky")
    return input_data * input_data


squares = (create_workflow(id="squares", input_schema=list[int], output_schema=list[int])
           .foreach(create_step(id="sq", input_schema=int, output_schema=int, execute=square),
                    concurrency=1)
           .commit())
'''


def test_a_foreach_that_failed_says_what_became_of_its_items(cli, write_module, db,
                                                             still_clock):
    path = write_module("unlucky", UNLUCKY)
    got = cli("--storage", db, "run", f"{path}:squares", "--input", json.dumps(list(range(30))),
              "--no-live")
    assert got.code == 1
    out = lines(got.out)
    assert out[1] == "✗ sq[7]  failed  0 ms  ValueError: 7 is unlucky"
    assert out[2] == "✗ sq  failed  0 ms  30 items: 7 success, 1 failed, 22 not run"
    done = cli("--storage", db, "run", f"{path}:squares", "--input", "[1, 2, 3]", "--no-live")
    assert lines(done.out)[1] == "✓ sq  success  0 ms  3 items"
