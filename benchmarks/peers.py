"""Other engines on flownb's two core shapes, same machine, same run: LangGraph and
pydantic-graph on the 100-step chain and the 1,000-item fan-out (``pip install
flownb[bench]``; a row says "not installed" otherwise).

Each engine is written the way its documentation shows: LangGraph's ``StateGraph`` with one
node per step (a ``TypedDict`` state) and ``Send`` for the fan-out (``max_concurrency=10``);
pydantic-graph's ``GraphBuilder`` with one step per node and ``.map()`` into a
``reduce_list_append`` join (it has no concurrency limit). The floor of each row is flownb
doing the same, measured right beside it; the ratio is how many times flownb's time the
other engine takes. flownb also validates every step's input and output with pydantic,
which the others do not do here.
"""

from __future__ import annotations

import importlib.util
import itertools
import operator
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypedDict

from .common import Row, paired
from .core import chain, foreach_ms, foreach_wf, per_step

__all__ = ["rows"]

CHAIN = 100

Timer = Callable[[], Coroutine[Any, Any, float]]  # one timed run, as `repeat` takes it

_HINT = "not installed (pip install flownb[bench])"


# -- LangGraph --------------------------------------------------------------------------------


class _Count(TypedDict):
    n: int


class _Fan(TypedDict):
    items: list[int]
    results: Annotated[list[int], operator.add]


class _Item(TypedDict):
    item: int


def _langgraph_chain(n: int) -> Any:
    from langgraph.graph import END, START, StateGraph

    async def inc(state: _Count) -> dict[str, int]:
        return {"n": state["n"] + 1}

    graph = StateGraph(_Count)
    previous = START
    for i in range(n):
        graph.add_node(f"s{i}", inc)
        graph.add_edge(previous, f"s{i}")
        previous = f"s{i}"
    graph.add_edge(previous, END)
    return graph.compile()


def _langgraph_fan_out() -> Any:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    async def work(state: _Item) -> dict[str, list[int]]:
        return {"results": [state["item"] * 2]}

    def spread(state: _Fan) -> list[Any]:  # (not list[Send]: LangGraph resolves hints)
        return [Send("work", {"item": i}) for i in state["items"]]

    graph = StateGraph(_Fan)
    graph.add_node("work", work)
    graph.add_conditional_edges(START, spread, ["work"])
    graph.add_edge("work", END)
    return graph.compile()


def _langgraph(items: int) -> tuple[Timer, Timer]:
    compiled_chain = _langgraph_chain(CHAIN)
    fan_out = _langgraph_fan_out()

    async def chain_us() -> float:
        t = time.perf_counter()
        state = await compiled_chain.ainvoke({"n": 0}, {"recursion_limit": CHAIN + 10})
        assert state["n"] == CHAIN
        return (time.perf_counter() - t) / CHAIN * 1e6

    async def fan_out_ms() -> float:
        t = time.perf_counter()
        state = await fan_out.ainvoke({"items": list(range(items)), "results": []},
                                      {"max_concurrency": 10})
        assert len(state["results"]) == items
        return (time.perf_counter() - t) * 1e3

    return chain_us, fan_out_ms


# -- pydantic-graph -----------------------------------------------------------------------------


def _pydantic_graph(items: int) -> tuple[Timer, Timer]:
    from pydantic_graph import GraphBuilder, StepContext, reduce_list_append

    async def inc(ctx: StepContext[None, None, int]) -> int:
        return ctx.inputs + 1

    builder = GraphBuilder(name="chain", input_type=int, output_type=int)
    steps = [builder.step(inc, node_id=f"s{i}") for i in range(CHAIN)]
    builder.add(builder.edge_from(builder.start_node).to(steps[0]))
    for a, b in itertools.pairwise(steps):
        builder.add(builder.edge_from(a).to(b))
    builder.add(builder.edge_from(steps[-1]).to(builder.end_node))
    compiled_chain = builder.build()

    async def work(ctx: StepContext[None, None, int]) -> int:
        return ctx.inputs * 2

    fan = GraphBuilder(name="fan_out", input_type=list[int], output_type=list[int])
    node = fan.step(work, node_id="work")
    collect = fan.join(reduce_list_append, initial_factory=list[int])
    fan.add(fan.edge_from(fan.start_node).map().to(node), fan.edge_from(node).to(collect),
            fan.edge_from(collect).to(fan.end_node))
    fan_out = fan.build()

    async def chain_us() -> float:
        t = time.perf_counter()
        assert await compiled_chain.run(inputs=0) == CHAIN
        return (time.perf_counter() - t) / CHAIN * 1e6

    async def fan_out_ms() -> float:
        t = time.perf_counter()
        assert len(await fan_out.run(inputs=list(range(items)))) == items
        return (time.perf_counter() - t) * 1e3

    return chain_us, fan_out_ms


# -- the rows -----------------------------------------------------------------------------------

_PEERS = (
    ("LangGraph", "langgraph", _langgraph, "Send, max_concurrency 10"),
    ("pydantic-graph", "pydantic_graph", _pydantic_graph, ".map(), unbounded"),
)


def rows(quick: bool) -> list[Row]:
    items = 100 if quick else 1_000
    reps = 1 if quick else 5
    flownb_chain = chain(CHAIN, False, id="peer-chain")
    flownb_fan_out = foreach_wf(10, 0, id="peer-fan-out")
    out: list[Row] = []
    for name, module, build, how in _PEERS:
        chain_measure = f"{name}: {CHAIN}-step chain"
        fan_measure = f"{name}: fan-out of {items:,} items ({how})"
        if importlib.util.find_spec(module) is None:
            out += [Row(chain_measure, "us/step", [], note=_HINT),
                    Row(fan_measure, "ms", [], note=_HINT)]
            continue
        chain_us, fan_out_ms = build(items)
        got, floor = paired(chain_us, lambda: per_step(flownb_chain, CHAIN), reps)
        out.append(Row(chain_measure, "us/step", got, "flownb", floor))
        got, floor = paired(fan_out_ms, lambda: foreach_ms(flownb_fan_out, items), reps)
        out.append(Row(fan_measure, "ms", got, "flownb conc. 10", floor))
    return out
