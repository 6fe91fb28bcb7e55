"""The live view's traits and messages, headless: what goes to the browser stays bounded,
the inspector shows SPEC §6b's keys, a click, a filter or a page is a trait the kernel
answers, Cancel cancels."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import anywidget
from nb_workflows import review_workflow
from pydantic import BaseModel

from flownb import create_step, create_workflow
from flownb.notebook import RunView, live
from flownb.render.jsontext import json_text
from flownb.render.model import RunModeler


class N(BaseModel):
    n: int


def foreach_of(wf_id: str, execute: Any, concurrency: int = 8) -> Any:
    item = create_step(id="item", input_schema=N, output_schema=N, execute=execute)
    return (create_workflow(id=wf_id, input_schema=list[N], output_schema=list[N])
            .foreach(item, concurrency=concurrency).commit())


def record_messages(view: RunView) -> list[int]:
    """The size in bytes of every state message the view sends from now on."""
    sizes: list[int] = []
    send = view._send

    def counting(msg: dict[str, Any], buffers: Any = None) -> None:
        sizes.append(len(json.dumps(msg, default=str)))
        send(msg, buffers)

    view._send = counting  # type: ignore[method-assign]
    return sizes


def test_the_view_is_an_anywidget_with_its_module_and_style_shipped():
    view = RunView(review_workflow())
    assert isinstance(view, anywidget.AnyWidget)
    assert "export default" in view._esm and "render" in view._esm  # the loader
    live = view._assets.bundles["live"]  # what it loads: the view's own module and sheet
    assert "export default { render }" in live["esm"] and "attachWidget" in live["esm"]
    assert "--jp-layout-color1" in live["css"]
    for esm in (view._esm, live["esm"]):
        assert not re.search(r"""(import|from)\s*\(?\s*["']https?:""", esm)  # no CDN
    assert view.graph["svg"].startswith("<svg")
    assert view.graph["ids"] == {"draft": "step:draft", "review": "step:review"}
    view.close()


async def test_a_10000_item_foreach_sends_bounded_messages_once_per_update():
    run = foreach_of("huge", lambda input_data: {"n": input_data.n}, concurrency=50).create_run()
    view = RunView(run, interval=0.05)
    sizes = record_messages(view)
    await run.start([{"n": i} for i in range(10_000)])
    assert view.stats["updates"] == len(sizes) + 1  # one message per update, the first drawn
    assert max(sizes) < 16_000, sizes  # the result folded, the items counted
    state = view.state
    assert state["nodes"]["item"]["progress"] == {"done": 10_000, "total": 10_000}
    assert state["result"]["cut"] and state["result"]["text"].count("\n") == 19
    view.close()


async def test_the_inspector_has_spec_keys_and_pages_a_foreachs_items():
    def odd_fails(input_data: N) -> dict[str, int]:
        if input_data.n % 2:
            raise ValueError(f"odd {input_data.n}")
        return {"n": input_data.n}

    run = foreach_of("items", odd_fails, concurrency=1).create_run()
    view = RunView(run)
    await run.start([{"n": i} for i in range(4)])  # item 1 fails: the foreach stops there
    info = view.select("item")
    assert info is not None and tuple(info) == live.INSPECTOR_KEYS
    assert info["status"] == "failed"
    assert info["items"] == [{"index": 0, "path": "item[0]", "status": "success"},
                             {"index": 1, "path": "item[1]", "status": "failed"}]
    assert view.inspected["items"]["counts"] == {"success": 1, "failed": 1}
    view.item_status = "failed"  # the browser's filter
    assert [i["path"] for i in view.inspected["items"]["page"]] == ["item[1]"]

    one = view.select("item[1]")
    assert one is not None and one["items"] is None
    assert one["input"] == {"n": 1} and one["output"] is None
    assert one["error"] == "ValueError: odd 1"
    assert one["attempts"] == [{"attempt": 1, "error": "ValueError: odd 1",
                                "started_at": one["started_at"], "ended_at": one["ended_at"]}]
    assert one["traceback"] is not None and 'raise ValueError(f"odd {input_data.n}")' in \
        one["traceback"]
    assert view.inspected["traceback"]["text"].startswith("Traceback")
    # from the user's frame on: not the engine's, asyncio's or the thread pool's
    frames = [line for line in one["traceback"].splitlines() if line.startswith("  File ")]
    assert len(frames) == 1 and __file__ in frames[0] and "in odd_fails" in frames[0]
    assert view.select(None) is None and view.inspected == {}
    view.close()


async def test_a_click_in_the_browser_selects_and_long_values_unfold_on_request():
    big = {"rows": list(range(1000))}  # numbers share lines: ~200 of them

    async def emit_big(input_data: N) -> dict[str, Any]:
        return {"n": input_data.n, **big}

    class Big(BaseModel):
        n: int
        rows: list[int]

    wf = (create_workflow(id="big", input_schema=N, output_schema=Big)
          .then(create_step(id="make", input_schema=N, output_schema=Big, execute=emit_big))
          .commit())
    run = wf.create_run()
    view = RunView(run)
    await run.start({"n": 1})
    view.selected = "make"  # what a click on the node sets
    output = view.inspected["output"]
    whole = json_text({"n": 1, **big})
    assert output["cut"] and output["lines"] == whole.count("\n") + 1 > 20
    assert output["text"].count("\n") == 19 and whole.startswith(output["text"])
    view.expanded = ["output"]  # "show more"
    assert not view.inspected["output"]["cut"]
    assert view.inspector["output"] == {"n": 1, **big}  # Python sees it whole
    view.close()


async def test_the_timeline_is_sent_while_its_tab_is_open():
    run = foreach_of("gantt", lambda input_data: {"n": input_data.n}).create_run()
    view = RunView(run)
    await run.start([{"n": i} for i in range(3)])
    assert view.timeline == {}
    view.tab = "timeline"
    bars = view.timeline["bars"]
    assert [(b["path"], b["item"]) for b in bars] == [
        ("item", False), ("item[0]", True), ("item[1]", True), ("item[2]", True)]
    assert all(b["end"] >= b["start"] for b in bars)
    view.close()


async def test_cancel_from_the_browser_cancels_the_run():
    gate = asyncio.Event()

    async def wait(input_data: N) -> dict[str, int]:
        await gate.wait()
        return {"n": input_data.n}

    run = foreach_of("stop", wait).create_run()
    view = RunView(run)
    task = asyncio.ensure_future(run.start([{"n": 1}]))
    while run.status != "running" or not run.steps:
        await asyncio.sleep(0.005)
    view._handle_custom_msg({"kind": "cancel"}, [])  # what the Cancel button sends
    result = await task
    assert result.status == "canceled"
    assert view.state["status"] == "canceled"
    view.close()


def test_model_state_is_exact_for_an_injected_clock():
    wf = review_workflow()
    modeler = RunModeler(wf.graph.description, now=lambda: 10.0)
    model = modeler.model({"draft": {"status": "running", "started_at": 7.5}},
                          status="running", run_id="r1", workflow_id="review-flow", started=7.0)
    state = live.model_state(model, now=10.0, seq=3)
    assert state["nodes"]["draft"] == {"status": "running", "seconds": 2.5, "running": True,
                                       "started_at": 7.5, "attempts": 0, "iterations": None,
                                       "progress": None}
    assert state["rows"] == [{"path": "draft", "status": "running", "seconds": 2.5,
                              "running": True, "started_at": 7.5, "attempts": 0,
                              "output": "", "error": None, "progress": None}]
    assert (state["seq"], state["now"], state["seconds"], state["result"]) == (3, 10.0, 3.0,
                                                                               None)


def test_fold_cuts_lines_and_characters():
    assert live.fold(None) is None
    records = live.fold([{"n": i} for i in range(50)])  # a record a line: cut unencoded
    assert records == {"text": "[\n" + "".join(f'  {{"n": {i}}},\n' for i in range(18))
                       + '  {"n": 18},', "lines": None, "chars": None, "cut": True,
                       "items": 50}
    numbers = live.fold(list(range(50)))  # numbers share lines: it fits, whole
    assert numbers is not None and not numbers["cut"] and numbers["lines"] == 5
    many = live.fold(list(range(100_000)))  # its first few hundred encoded, the "]" unseen
    assert many is not None and many["cut"] and many["items"] == 100_000
    assert many["text"].startswith("[\n  0, 1, 2,") and "]" not in many["text"]
    assert many["text"].count("\n") == live.FOLD_LINES - 1
    lines = live.fold({"a": [{"i": i} for i in range(30)]})
    assert lines is not None and lines["cut"] and lines["lines"] == 34
    assert lines["text"].count("\n") == live.FOLD_LINES - 1
    wide = live.fold("x" * 10_000)
    assert wide is not None and wide["cut"] and len(wide["text"]) == live.FOLD_CHARS
    whole = live.fold("x" * 10_000, expanded=True)
    assert whole is not None and not whole["cut"]


def test_values_show_one_small_record_a_line():
    from flownb.render.jsontext import LINE, json_text

    records = [{"n": i, "ok": True} for i in range(30)]
    text = json_text({"items": records, "note": "x"})
    lines = text.splitlines()
    assert lines[:3] == ["{", '  "items": [', '    {"n": 0, "ok": true},']
    assert lines[-3:] == ["  ],", '  "note": "x"', "}"]
    assert all(len(line) <= LINE for line in lines)
    assert json_text([1, [2, 3], {}]) == "[1, [2, 3], {}]"  # short: one line
    wide = json_text({"text": "y" * 100, "k": 1})
    assert wide.splitlines() == ["{", f'  "text": "{"y" * 100}",', '  "k": 1', "}"]
    assert json_text({"bad": "\x1b[31m"}) == '{"bad": "\\u001b[31m"}'
    # a foreach's 300 items, cut for the inspector: the first records, one a line
    cut = live.fold(records * 10)
    assert cut is not None and cut["cut"] and cut["items"] == 300
    assert cut["text"].splitlines()[:2] == ["[", '  {"n": 0, "ok": true},']


def test_a_traceback_keeps_what_the_users_code_called():
    import json

    def parse() -> None:
        json.loads("{not json")

    try:
        parse()
    except ValueError as exc:
        caught = exc
    text = live.traceback_text(caught, "step 'p' failed: bad", "p", "bad")
    assert text is not None
    frames = [line for line in text.splitlines() if line.startswith("  File ")]
    assert "in test_a_traceback_keeps" in frames[0] and "in parse" in frames[1]
    assert any("json" in frame for frame in frames[2:])  # the standard library it called


def test_a_traceback_names_a_notebook_cell_as_ipython_does():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    count = shell.execution_count
    assert shell.run_cell("def broken(x):\n    raise ValueError('no ' + x)\n",
                          store_history=True).success
    try:
        shell.user_ns.pop("broken")("way")
    except ValueError as exc:
        caught = exc
    text = live.traceback_text(caught, "step 'p' failed: no way", "p", "no way")
    assert text is not None
    lines = text.splitlines()
    assert lines[1].startswith('  File "') and "test_live.py" in lines[1]  # a module: its file
    assert f"  Cell In[{count}], line 2, in broken" in lines  # a cell: its number
    assert live.cell_name(__file__) is None


def test_numbers_and_strings_share_lines():
    text = json_text({"tags": ["alpha"] * 30, "n": list(range(40))})
    lines = text.splitlines()
    assert lines[1] == '  "tags": ['
    assert lines[2] == "    " + ", ".join(['"alpha"'] * 7) + ","  # as many as fit in 72
    assert max(len(line) for line in lines) <= 72
    assert json.loads(text) == {"tags": ["alpha"] * 30, "n": list(range(40))}
