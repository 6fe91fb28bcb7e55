"""Every example of the two Mastra seed documents, translated to flownb, with the outputs
the documents state.

Translation: zod → pydantic, camelCase → snake_case, ``execute: async ({inputData}) =>`` →
a function whose keyword parameters are injected by name.
"""

from __future__ import annotations

import asyncio
import json
import re

from pydantic import BaseModel, Field

from flownb import (
    Event,
    WorkflowResult,
    clone_step,
    create_step,
    create_workflow,
)

# ---------------------------------------------------------------------------------------
# Shared schemas
# ---------------------------------------------------------------------------------------


class Message(BaseModel):
    message: str


class Formatted(BaseModel):
    formatted: str


class Emphasized(BaseModel):
    emphasized: str


class Count(BaseModel):
    count: int


class Combined(BaseModel):
    combined: str


class ResultText(BaseModel):
    result: str


class Value(BaseModel):
    value: int


class Number(BaseModel):
    number: int


class Chunk(BaseModel):
    chunk: str


class Content(BaseModel):
    content: str


class Embedding(BaseModel):
    embedding: list[float]


class SourcedChunk(BaseModel):
    chunk: str
    source: str


class Document(BaseModel):
    content: str
    source: str


def chunk_text(text: str) -> list[str]:
    """JavaScript's ``content.match(/.{1,100}/g) || []``."""
    return re.findall(r".{1,100}", text)


def fake_embed(text: str) -> list[float]:
    return [float(len(text)), float(text.count("a"))]


# ---------------------------------------------------------------------------------------
# Control flow: .then()
# ---------------------------------------------------------------------------------------


async def test_then_chain_message_formatted_emphasized():
    step1 = create_step(
        id="step-1",
        input_schema=Message,
        output_schema=Formatted,
        execute=lambda input_data: {"formatted": input_data.message.upper()},
    )

    async def emphasize(input_data: Formatted) -> dict:
        return {"emphasized": f"{input_data.formatted}!!"}

    step2 = create_step(
        id="step-2", input_schema=Formatted, output_schema=Emphasized, execute=emphasize
    )
    test_workflow = (
        create_workflow(id="test-workflow", input_schema=Message, output_schema=Emphasized)
        .then(step1)
        .then(step2)
        .commit()
    )

    result = await test_workflow.create_run().start(input_data={"message": "hello"})

    assert result.status == "success"
    assert result.result == Emphasized(emphasized="HELLO!!")
    assert isinstance(result.result, Emphasized)
    assert list(result.steps) == ["step-1", "step-2"]
    assert result.steps["step-1"].output == Formatted(formatted="HELLO")


# ---------------------------------------------------------------------------------------
# Control flow: .parallel()
# ---------------------------------------------------------------------------------------


class Step3Input(BaseModel):
    step_1: Formatted = Field(alias="step-1")
    step_2: Emphasized = Field(alias="step-2")


async def test_parallel_step1_step2_combined_by_step3():
    step1 = create_step(
        id="step-1",
        input_schema=Message,
        output_schema=Formatted,
        execute=lambda input_data: {"formatted": input_data.message.upper()},
    )
    step2 = create_step(
        id="step-2",
        input_schema=Message,
        output_schema=Emphasized,
        execute=lambda input_data: {"emphasized": f"*{input_data.message}*"},
    )

    async def combine(input_data: Step3Input) -> dict:
        formatted = input_data.step_1.formatted
        emphasized = input_data.step_2.emphasized
        return {"combined": f"{formatted} | {emphasized}"}

    step3 = create_step(
        id="step-3", input_schema=Step3Input, output_schema=Combined, execute=combine
    )
    test_workflow = (
        create_workflow(id="test-workflow", input_schema=Message, output_schema=Combined)
        .parallel([step1, step2])
        .then(step3)
        .commit()
    )

    result = await test_workflow.create_run().start(input_data={"message": "hi"})

    assert result.status == "success", result.error
    assert result.result == Combined(combined="HI | *hi*")


class CombineInput(BaseModel):
    format_step: Formatted = Field(alias="format-step")
    count_step: Count = Field(alias="count-step")


def parallel_output_workflow(seen: dict):
    step1 = create_step(
        id="format-step",
        input_schema=Message,
        output_schema=Formatted,
        execute=lambda input_data: {"formatted": input_data.message.upper()},
    )

    async def count(input_data: Message) -> dict:
        return {"count": len(input_data.message)}

    step2 = create_step(id="count-step", input_schema=Message, output_schema=Count,
                        execute=count)

    async def combine(input_data: CombineInput, get_step_result) -> dict:
        seen["input_data"] = input_data
        seen["format-step"] = get_step_result("format-step")
        seen["count-step"] = get_step_result(step2)
        formatted = input_data.format_step.formatted
        n = input_data.count_step.count
        return {"result": f"{formatted} ({n} characters)"}

    step3 = create_step(id="combine-step", input_schema=CombineInput,
                        output_schema=ResultText, execute=combine)
    return (
        create_workflow(id="parallel-output-example", input_schema=Message,
                        output_schema=ResultText)
        .parallel([step1, step2])
        .then(step3)
        .commit()
    )


async def test_parallel_output_structure_hello():
    seen: dict = {}
    wf = parallel_output_workflow(seen)

    result = await wf.create_run().start(input_data={"message": "hello"})

    assert result.status == "success", result.error
    assert result.result == ResultText(result="HELLO (5 characters)")
    # the parallel output structure, seen by the next step and in the run's steps
    assert seen["format-step"] == Formatted(formatted="HELLO")
    assert seen["count-step"] == Count(count=5)
    assert result.steps["format-step"].output == Formatted(formatted="HELLO")
    assert result.steps["count-step"].output == Count(count=5)
    payload = result.to_dict()["steps"]["combine-step"]["payload"]
    assert payload == {"format-step": {"formatted": "HELLO"}, "count-step": {"count": 5}}
    assert isinstance(seen["input_data"], CombineInput)


async def test_parallel_output_handed_on_is_a_dict_keyed_by_step_id():
    seen: dict = {}
    wf_steps = parallel_output_workflow(seen).steps
    captured: dict = {}

    def capture(input_data):
        captured["value"] = input_data
        return input_data

    wf = (
        create_workflow(id="parallel-capture", input_schema=Message, output_schema=ResultText)
        .parallel([wf_steps["format-step"], wf_steps["count-step"]])
        .map(capture)
        .then(wf_steps["combine-step"])
        .commit()
    )

    result = await wf.create_run().start(input_data={"message": "hello"})

    assert result.status == "success", result.error
    assert captured["value"] == {
        "format-step": Formatted(formatted="HELLO"),
        "count-step": Count(count=5),
    }
    assert type(captured["value"]) is dict


# ---------------------------------------------------------------------------------------
# Control flow: .branch()
# ---------------------------------------------------------------------------------------


async def test_branch_simple_example_chooses_by_value():
    step1 = create_step(id="step-1", input_schema=Value, output_schema=Value,
                        execute=lambda input_data: input_data)
    step_a = create_step(id="step-a", input_schema=Value, output_schema=ResultText,
                         execute=lambda input_data: {"result": f"A {input_data.value}"})
    step_b = create_step(id="step-b", input_schema=Value, output_schema=ResultText,
                         execute=lambda input_data: {"result": f"B {input_data.value}"})

    async def big(input_data):
        return input_data.value > 10

    async def small(input_data):
        return input_data.value <= 10

    wf = (
        create_workflow(id="test-workflow", input_schema=Value)
        .then(step1)
        .branch([(big, step_a), (small, step_b)])
        .commit()
    )

    high = await wf.create_run().start(input_data={"value": 11})
    low = await wf.create_run().start(input_data={"value": 10})

    assert high.result == {"step-a": ResultText(result="A 11")}
    assert low.result == {"step-b": ResultText(result="B 10")}


class FinalInput(BaseModel):
    high_value_step: ResultText | None = Field(default=None, alias="high-value-step")
    low_value_step: ResultText | None = Field(default=None, alias="low-value-step")


class FinalOutput(BaseModel):
    message: str


def branch_output_workflow():
    step1 = create_step(id="initial-step", input_schema=Value, output_schema=Value,
                        execute=lambda input_data: input_data)

    async def high(input_data: Value) -> dict:
        return {"result": f"High value: {input_data.value}"}

    async def low(input_data: Value) -> dict:
        return {"result": f"Low value: {input_data.value}"}

    high_value_step = create_step(id="high-value-step", input_schema=Value,
                                  output_schema=ResultText, execute=high)
    low_value_step = create_step(id="low-value-step", input_schema=Value,
                                 output_schema=ResultText, execute=low)

    async def final(input_data: FinalInput) -> dict:
        chosen = input_data.high_value_step or input_data.low_value_step
        assert chosen is not None
        return {"message": chosen.result}

    final_step = create_step(id="final-step", input_schema=FinalInput,
                             output_schema=FinalOutput, execute=final)
    return (
        create_workflow(id="branch-output-example", input_schema=Value,
                        output_schema=FinalOutput)
        .then(step1)
        .branch([
            (lambda input_data: input_data.value > 10, high_value_step),
            (lambda input_data: input_data.value <= 10, low_value_step),
        ])
        .then(final_step)
        .commit()
    )


async def test_branch_output_value_15_runs_only_high_value_step():
    result = await branch_output_workflow().create_run().start(input_data={"value": 15})

    assert result.status == "success", result.error
    assert result.result == FinalOutput(message="High value: 15")
    assert result.steps["high-value-step"].output == ResultText(result="High value: 15")
    assert result.steps["high-value-step"].status == "success"
    assert "low-value-step" not in result.steps
    payload = result.to_dict()["steps"]["final-step"]["payload"]
    assert {k: v for k, v in payload.items() if v is not None} == {
        "high-value-step": {"result": "High value: 15"}
    }


async def test_branch_output_value_5_runs_only_low_value_step():
    result = await branch_output_workflow().create_run().start(input_data={"value": 5})

    assert result.status == "success", result.error
    assert result.result == FinalOutput(message="Low value: 5")
    assert result.steps["low-value-step"].output == ResultText(result="Low value: 5")
    assert "high-value-step" not in result.steps


# ---------------------------------------------------------------------------------------
# Input data mapping: .map()
# ---------------------------------------------------------------------------------------


class Foo(BaseModel):
    foo: str


class Bar(BaseModel):
    bar: str


async def test_map_function_after_then():
    step1 = create_step(id="step-1", input_schema=Message, output_schema=Foo,
                        execute=lambda input_data: {"foo": input_data.message})
    step2 = create_step(id="step-2", input_schema=Bar, output_schema=Bar,
                        execute=lambda input_data: {"bar": input_data.bar.upper()})

    async def remap(input_data):
        return {"bar": f"new {input_data.foo}"}

    wf = (
        create_workflow(id="test-workflow", input_schema=Message, output_schema=Bar)
        .then(step1)
        .map(remap)
        .then(step2)
        .commit()
    )

    result = await wf.create_run().start(input_data={"message": "thing"})

    assert result.status == "success", result.error
    assert result.result == Bar(bar="NEW THING")


class Text(BaseModel):
    value: str


async def test_map_after_parallel_flattens_keyed_outputs():
    step1 = create_step(id="step1", input_schema=Message, output_schema=Text,
                        execute=lambda input_data: {"value": input_data.message.upper()})
    step2 = create_step(id="step2", input_schema=Message, output_schema=Text,
                        execute=lambda input_data: {"value": input_data.message[::-1]})
    next_step = create_step(id="next-step", input_schema=Combined, output_schema=Combined,
                            execute=lambda input_data: {"combined": f"<{input_data.combined}>"})

    async def flatten(input_data):
        return {"combined": f"{input_data['step1'].value} - {input_data['step2'].value}"}

    wf = (
        create_workflow(id="test-workflow", input_schema=Message, output_schema=Combined)
        .parallel([step1, step2])
        .map(flatten)
        .then(next_step)
        .commit()
    )

    result = await wf.create_run().start(input_data={"message": "abc"})

    assert result.status == "success", result.error
    assert result.result == Combined(combined="<ABC - cba>")


async def test_map_after_branch_with_get_step_result():
    step_a = create_step(id="stepA", input_schema=Value, output_schema=ResultText,
                         execute=lambda input_data: {"result": f"A{input_data.value}"})
    step_b = create_step(id="stepB", input_schema=Value, output_schema=ResultText,
                         execute=lambda input_data: {"result": f"B{input_data.value}"})
    next_step = create_step(id="next-step", input_schema=ResultText, output_schema=ResultText,
                            execute=lambda input_data: {"result": input_data.result + "!"})
    seen: list = []

    async def pick(input_data, get_step_result):
        step_a_result = get_step_result("stepA")
        step_b_result = get_step_result("stepB")
        seen.append((step_a_result, step_b_result))
        return step_a_result or step_b_result

    wf = (
        create_workflow(id="test-workflow", input_schema=Value, output_schema=ResultText)
        .branch([
            (lambda input_data: input_data.value > 0, step_a),
            (lambda input_data: input_data.value <= 0, step_b),
        ])
        .map(pick)
        .then(next_step)
        .commit()
    )

    positive = await wf.create_run().start(input_data={"value": 3})
    negative = await wf.create_run().start(input_data={"value": -3})

    assert positive.result == ResultText(result="A3!")
    assert negative.result == ResultText(result="B-3!")
    assert seen == [(ResultText(result="A3"), None), (None, ResultText(result="B-3"))]


# ---------------------------------------------------------------------------------------
# Loops
# ---------------------------------------------------------------------------------------


def number_steps():
    step1 = create_step(id="step-1", input_schema=Number, output_schema=Number,
                        execute=lambda input_data: input_data)

    async def increment(input_data):
        return {"number": input_data.number + 1}

    step2 = create_step(id="step-2", input_schema=Number, output_schema=Number,
                        execute=increment)
    return step1, step2


async def test_dountil_from_0_until_greater_than_10_gives_11():
    step1, step2 = number_steps()

    async def done(input_data):
        return input_data.number > 10

    wf = (
        create_workflow(id="test-workflow", input_schema=Number, output_schema=Number)
        .then(step1)
        .dountil(step2, done)
        .commit()
    )

    result = await wf.create_run().start(input_data={"number": 0})

    assert result.status == "success", result.error
    assert result.result == Number(number=11)


async def test_dowhile_from_0_while_less_than_10_gives_10():
    step1, step2 = number_steps()

    async def keep_going(input_data):
        return input_data.number < 10

    wf = (
        create_workflow(id="test-workflow", input_schema=Number, output_schema=Number)
        .then(step1)
        .dowhile(step2, keep_going)
        .commit()
    )

    result = await wf.create_run().start(input_data={"number": 0})

    assert result.status == "success", result.error
    assert result.result == Number(number=10)


async def test_foreach_upper_cases_strings_then_next_step():
    async def upper(input_data: str) -> str:
        return input_data.upper()

    step1 = create_step(id="step-1", input_schema=str, output_schema=str, execute=upper)
    step2 = create_step(id="step-2", input_schema=list[str], output_schema=list[str],
                        execute=lambda input_data: [f"{s}!" for s in input_data])
    wf = (
        create_workflow(id="test-workflow", input_schema=list[str], output_schema=list[str])
        .foreach(step1)
        .then(step2)
        .commit()
    )

    result = await wf.create_run().start(input_data=["a", "bc", "def"])

    assert result.status == "success", result.error
    assert result.result == ["A!", "BC!", "DEF!"]
    assert result.steps["step-1"].output == ["A", "BC", "DEF"]


def add_ten_step():
    async def add_ten(input_data: Value) -> dict:
        return {"value": input_data.value + 10}

    return create_step(id="add-ten", input_schema=Value, output_schema=Value, execute=add_ten)


async def test_foreach_add_ten_output_in_order():
    wf = (
        create_workflow(id="foreach-output-example", input_schema=list[Value],
                        output_schema=list[Value])
        .foreach(add_ten_step())
        .commit()
    )

    result = await wf.create_run().start(
        input_data=[{"value": 1}, {"value": 22}, {"value": 333}])

    assert result.status == "success", result.error
    assert result.result == [Value(value=11), Value(value=32), Value(value=343)]
    assert result.to_dict()["result"] == [{"value": 11}, {"value": 32}, {"value": 343}]


async def test_foreach_concurrency_4():
    in_flight = 0
    peak = 0

    async def work(input_data: Value) -> dict:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return {"value": input_data.value * 2}

    step1 = create_step(id="step-1", input_schema=Value, output_schema=Value, execute=work)
    wf = (
        create_workflow(id="test-workflow", input_schema=list[Value],
                        output_schema=list[Value])
        .foreach(step1, concurrency=4)
        .commit()
    )

    result = await wf.create_run().start(input_data=[{"value": i} for i in range(10)])

    assert result.status == "success", result.error
    assert result.result == [Value(value=2 * i) for i in range(10)]
    assert peak == 4


class Processed(BaseModel):
    processed: int


class Total(BaseModel):
    total: int


def process_item_step():
    async def process(input_data: Value) -> dict:
        return {"processed": input_data.value * 2}

    return create_step(id="process-item", input_schema=Value, output_schema=Processed,
                       execute=process)


async def test_foreach_then_aggregate_total_12():
    async def aggregate(input_data: list[Processed]) -> dict:
        return {"total": sum(item.processed for item in input_data)}

    aggregate_step = create_step(id="aggregate", input_schema=list[Processed],
                                 output_schema=Total, execute=aggregate)
    wf = (
        create_workflow(id="foreach-aggregate-example", input_schema=list[Value],
                        output_schema=Total)
        .foreach(process_item_step())
        .then(aggregate_step)
        .commit()
    )

    result = await wf.create_run().start(
        input_data=[{"value": 1}, {"value": 2}, {"value": 3}])

    assert result.status == "success", result.error
    assert result.steps["process-item"].output == [
        Processed(processed=2), Processed(processed=4), Processed(processed=6)]
    assert result.result == Total(total=12)


class ValuesCount(BaseModel):
    values: list[int]
    count: int


async def test_foreach_then_map_to_values_and_count():
    next_step = create_step(id="next-step", input_schema=ValuesCount,
                            output_schema=ValuesCount, execute=lambda input_data: input_data)

    async def reshape(input_data):
        return {"values": [item.processed for item in input_data], "count": len(input_data)}

    wf = (
        create_workflow(id="test-workflow", input_schema=list[Value],
                        output_schema=ValuesCount)
        .foreach(process_item_step())
        .map(reshape)
        .then(next_step)
        .commit()
    )

    result = await wf.create_run().start(
        input_data=[{"value": 1}, {"value": 2}, {"value": 3}])

    assert result.status == "success", result.error
    assert result.result == ValuesCount(values=[2, 4, 6], count=3)


# ---------------------------------------------------------------------------------------
# Chaining several .foreach() calls (RAG examples, with local documents instead of fetch)
# ---------------------------------------------------------------------------------------


def chunk_and_embed_steps():
    async def chunk(input_data: Content) -> list[dict]:
        return [{"chunk": c} for c in chunk_text(input_data.content)]

    chunk_step = create_step(id="chunk", input_schema=Content, output_schema=list[Chunk],
                             execute=chunk)

    async def embed(input_data: Chunk) -> dict:
        return {"embedding": fake_embed(input_data.chunk)}

    embed_step = create_step(id="embed", input_schema=Chunk, output_schema=Embedding,
                             execute=embed)
    return chunk_step, embed_step


async def test_single_doc_chunk_then_foreach_embed():
    chunk_step, embed_step = chunk_and_embed_steps()
    single_doc_workflow = (
        create_workflow(id="single-doc-rag", input_schema=Content,
                        output_schema=list[Embedding])
        .then(chunk_step)
        .foreach(embed_step)
        .commit()
    )
    content = "a" * 100 + "b" * 100 + "c" * 50

    result = await single_doc_workflow.create_run().start(input_data={"content": content})

    assert result.status == "success", result.error
    assert result.result == [
        Embedding(embedding=[100.0, 100.0]),
        Embedding(embedding=[100.0, 0.0]),
        Embedding(embedding=[50.0, 0.0]),
    ]
    assert [p for p in result.steps if p.startswith("embed[")] == [
        "embed[0]", "embed[1]", "embed[2]"]


DOCUMENTS = {
    "https://example.com/a": "a" * 150,
    "https://example.com/b": "b" * 80,
    "https://example.com/c": "ca" * 110,
}


async def fetch_text(url: str) -> str:
    """Stands in for ``fetch(url).then(r => r.text())``."""
    await asyncio.sleep(0)
    return DOCUMENTS[url]


def expected_embeddings(urls: list[str]) -> list[Embedding]:
    return [Embedding(embedding=fake_embed(c)) for u in urls for c in chunk_text(DOCUMENTS[u])]


async def test_multi_doc_option_1_download_and_chunk_then_foreach_embed_concurrency_10():
    _, embed_step = chunk_and_embed_steps()

    async def download_and_chunk(input_data: list[str]) -> list[dict]:
        all_chunks = []
        for url in input_data:
            content = await fetch_text(url)
            all_chunks.extend({"chunk": c, "source": url} for c in chunk_text(content))
        return all_chunks

    download_and_chunk_step = create_step(
        id="download-and-chunk", input_schema=list[str], output_schema=list[SourcedChunk],
        execute=download_and_chunk)
    multi_doc_workflow = (
        create_workflow(id="multi-doc-rag", input_schema=list[str],
                        output_schema=list[Embedding])
        .then(download_and_chunk_step)
        .foreach(embed_step, concurrency=10)
        .commit()
    )
    urls = list(DOCUMENTS)

    result = await multi_doc_workflow.create_run().start(input_data=urls)

    assert result.status == "success", result.error
    assert len(result.steps["download-and-chunk"].output) == 6
    assert result.result == expected_embeddings(urls)


async def test_multi_doc_option_2_foreach_download_chunk_map_flat_foreach_embed():
    _, embed_step = chunk_and_embed_steps()
    in_flight = 0
    peak = 0

    async def download(input_data: str) -> dict:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        content = await fetch_text(input_data)
        in_flight -= 1
        return {"content": content, "source": input_data}

    download_step = create_step(id="download", input_schema=str, output_schema=Document,
                                execute=download)

    async def chunk_doc(input_data: Document) -> list[dict]:
        return [{"chunk": c, "source": input_data.source}
                for c in chunk_text(input_data.content)]

    chunk_doc_step = create_step(id="chunk-doc", input_schema=Document,
                                 output_schema=list[SourcedChunk], execute=chunk_doc)

    async def flat(input_data):
        return [chunk for chunks in input_data for chunk in chunks]

    multi_doc_workflow = (
        create_workflow(id="multi-doc-rag", input_schema=list[str],
                        output_schema=list[Embedding])
        .foreach(download_step, concurrency=5)
        .foreach(chunk_doc_step)
        .map(flat)
        .foreach(embed_step, concurrency=10)
        .commit()
    )
    urls = list(DOCUMENTS) * 3  # 9 documents, so the bound of 5 matters

    result = await multi_doc_workflow.create_run().start(input_data=urls)

    assert result.status == "success", result.error
    assert peak == 5
    chunk_arrays = result.steps["chunk-doc"].output
    assert [len(chunks) for chunks in chunk_arrays] == [2, 1, 3] * 3  # an array of arrays
    assert result.result == expected_embeddings(urls)


# ---------------------------------------------------------------------------------------
# Nested workflows
# ---------------------------------------------------------------------------------------


class Url(BaseModel):
    url: str


class DownloadedDoc(BaseModel):
    content: str
    url: str


class Embeddings(BaseModel):
    embeddings: list[list[float]]


class Metadata(BaseModel):
    url: str
    chunk_count: int


class ProcessedDoc(BaseModel):
    embeddings: list[list[float]]
    metadata: Metadata


async def test_nested_workflow_inside_foreach_concurrency_3():
    in_flight = 0
    peak = 0
    trace: list[tuple[str, str]] = []

    async def download(input_data: Url) -> dict:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        trace.append((input_data.url, "download"))
        await asyncio.sleep(0.01)
        return {"content": await fetch_text(input_data.url), "url": input_data.url}

    async def chunk(input_data: Content) -> list[dict]:
        return [{"chunk": c} for c in chunk_text(input_data.content)]

    async def embed_chunks(input_data: list[Chunk]) -> dict:
        return {"embeddings": [fake_embed(c.chunk) for c in input_data]}

    async def format_result(input_data: Embeddings, get_step_result) -> dict:
        nonlocal in_flight
        in_flight -= 1
        url = get_step_result("download").url  # this item's download, not another's
        trace.append((url, "format-result"))
        return {"embeddings": input_data.embeddings,
                "metadata": {"url": url, "chunk_count": len(input_data.embeddings)}}

    download_step = create_step(id="download", input_schema=Url,
                                output_schema=DownloadedDoc, execute=download)
    chunk_step = create_step(id="chunk", input_schema=Content, output_schema=list[Chunk],
                             execute=chunk)
    embed_chunks_step = create_step(id="embed-chunks", input_schema=list[Chunk],
                                    output_schema=Embeddings, execute=embed_chunks)
    format_result_step = create_step(id="format-result", input_schema=Embeddings,
                                     output_schema=ProcessedDoc, execute=format_result)
    process_document_workflow = (
        create_workflow(id="process-document", input_schema=Url, output_schema=ProcessedDoc)
        .then(download_step)
        .then(chunk_step)
        .then(embed_chunks_step)
        .then(format_result_step)
        .commit()
    )
    batch_process_workflow = (
        create_workflow(id="batch-process-documents", input_schema=list[Url],
                        output_schema=list[ProcessedDoc])
        .foreach(process_document_workflow, concurrency=3)
        .commit()
    )
    urls = list(DOCUMENTS) * 2

    result = await batch_process_workflow.create_run().start(
        input_data=[{"url": u} for u in urls])

    assert result.status == "success", result.error
    assert peak == 3
    assert [doc.metadata for doc in result.result] == [
        Metadata(url=u, chunk_count=len(chunk_text(DOCUMENTS[u]))) for u in urls]
    assert result.result[0].embeddings == [fake_embed(c) for c in chunk_text(DOCUMENTS[urls[0]])]
    for i in range(len(urls)):
        for inner in ("download", "chunk", "embed-chunks", "format-result"):
            assert result.steps[f"process-document[{i}].{inner}"].status == "success"
    assert len(result.steps["process-document"].output) == len(urls)


async def test_nested_workflows_in_parallel():
    def appender(step_id: str, suffix: str):
        return create_step(id=step_id, input_schema=Message, output_schema=Message,
                           execute=lambda input_data: {"message": input_data.message + suffix})

    pipeline_a = (
        create_workflow(id="pipeline-a", input_schema=Message, output_schema=Message)
        .then(appender("step1", "-1"))
        .then(appender("step2", "-2"))
        .commit()
    )
    pipeline_b = (
        create_workflow(id="pipeline-b", input_schema=Message, output_schema=Message)
        .then(appender("step3", "-3"))
        .then(appender("step4", "-4"))
        .commit()
    )
    wf = (
        create_workflow(id="workflow", input_schema=Message)
        .parallel([pipeline_a, pipeline_b])
        .commit()
    )

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "success", result.error
    assert result.result == {"pipeline-a": Message(message="m-1-2"),
                             "pipeline-b": Message(message="m-3-4")}
    for path in ("pipeline-a", "pipeline-a.step1", "pipeline-a.step2",
                 "pipeline-b", "pipeline-b.step3", "pipeline-b.step4"):
        assert result.steps[path].status == "success"
    assert list(wf.steps) == ["pipeline-a", "pipeline-a.step1", "pipeline-a.step2",
                              "pipeline-b", "pipeline-b.step3", "pipeline-b.step4"]


# ---------------------------------------------------------------------------------------
# Loop management: aborting loops
# ---------------------------------------------------------------------------------------


class UserResponse(BaseModel):
    user_response: str


async def test_aborting_loop_after_10_iterations_fails_the_run():
    executions = 0

    async def ask(input_data: UserResponse) -> dict:
        nonlocal executions
        executions += 1
        return {"user_response": "no"}

    step1 = create_step(id="step-1", input_schema=UserResponse, output_schema=UserResponse,
                        execute=ask)

    async def until_yes(input_data, iteration_count):
        if iteration_count >= 10:
            raise RuntimeError("Maximum iterations reached")
        return input_data.user_response == "yes"

    wf = (
        create_workflow(id="test-workflow", input_schema=UserResponse,
                        output_schema=UserResponse)
        .dountil(step1, until_yes)
        .commit()
    )

    result = await wf.create_run().start(input_data={"user_response": "maybe"})

    assert result.status == "failed"
    assert executions == 10
    assert "Maximum iterations reached" in result.error
    assert "dountil" in result.error
    assert "step-1" in result.error
    assert isinstance(result.exception, RuntimeError)


# ---------------------------------------------------------------------------------------
# Workflows overview
# ---------------------------------------------------------------------------------------


class InputText(BaseModel):
    input: str


class OutputText(BaseModel):
    output: str


async def test_overview_clone_step():
    step1 = create_step(id="step-1", input_schema=InputText, output_schema=InputText,
                        execute=lambda input_data: {"input": input_data.input + " + step"})
    cloned_step = clone_step(step1, id="cloned-step")
    step2 = create_step(id="step-2", input_schema=InputText, output_schema=OutputText,
                        execute=lambda input_data: {"output": input_data.input})
    test_workflow = (
        create_workflow(id="test-workflow", description="Test workflow",
                        input_schema=InputText, output_schema=OutputText)
        .then(step1)
        .then(cloned_step)
        .then(step2)
        .commit()
    )

    result = await test_workflow.create_run().start(input_data={"input": "London"})

    assert result.status == "success", result.error
    assert result.result == OutputText(output="London + step + step")
    assert list(result.steps) == ["step-1", "cloned-step", "step-2"]
    assert test_workflow.description == "Test workflow"


class City(BaseModel):
    city: str


def city_workflow(execute):
    step1 = create_step(id="step-1", input_schema=City, output_schema=OutputText,
                        execute=execute)
    return (
        create_workflow(id="test-workflow", input_schema=City, output_schema=OutputText)
        .then(step1)
        .commit()
    )


def roundtrip(result: WorkflowResult) -> dict:
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    return data


async def test_overview_result_shape_success():
    wf = city_workflow(lambda input_data: {"output": f"{input_data.city} + step-1"})

    data = roundtrip(await wf.create_run().start(input_data={"city": "London"}))

    assert data["status"] == "success"
    assert data["steps"]["step-1"]["status"] == "success"
    assert data["steps"]["step-1"]["payload"] == {"city": "London"}
    assert data["steps"]["step-1"]["output"] == {"output": "London + step-1"}
    assert data["result"] == {"output": "London + step-1"}
    assert data["error"] is None
    assert data["suspended"] == []


async def test_overview_result_shape_suspended():
    async def wait_for_human(input_data, suspend):
        await suspend({"question": "ok?"})

    wf = city_workflow(wait_for_human)

    data = roundtrip(await wf.create_run().start(input_data={"city": "London"}))

    assert data["status"] == "suspended"
    assert data["steps"]["step-1"]["status"] == "suspended"
    assert data["steps"]["step-1"]["suspend_payload"] == {"question": "ok?"}
    assert data["suspended"] == [["step-1"]]
    assert data["result"] is None


async def test_overview_result_shape_failed():
    def broken(input_data):
        raise ValueError("Test error")

    wf = city_workflow(broken)

    result = await wf.create_run().start(input_data={"city": "London"})
    data = roundtrip(result)

    assert data["status"] == "failed"
    assert data["steps"]["step-1"]["status"] == "failed"
    assert "Test error" in data["steps"]["step-1"]["error"]
    assert "Test error" in data["error"]
    assert "step-1" in data["error"]
    assert data["result"] is None
    assert "exception" not in data
    assert isinstance(result.exception, ValueError)


async def test_overview_stream():
    wf = city_workflow(lambda input_data: {"output": f"{input_data.city} + step-1"})
    run = wf.create_run()

    chunks: list[Event] = [chunk async for chunk in run.stream(input_data={"city": "London"})]

    types = [c.type for c in chunks]
    assert types[0] == "workflow-start"
    assert types[-1] == "workflow-finish"
    assert types == ["workflow-start", "step-start", "step-result", "workflow-finish"]
    assert chunks[1].path == ("step-1",)
    assert chunks[-1].payload["status"] == "success"
    assert chunks[-1].payload["result"] == {"output": "London + step-1"}
    assert run.result is not None
    assert run.result.result == OutputText(output="London + step-1")
    for chunk in chunks:
        json.dumps(chunk.to_dict())


async def test_overview_watch():
    wf = city_workflow(lambda input_data: {"output": f"{input_data.city} + step-1"})
    run = wf.create_run()
    events: list[Event] = []
    run.watch(lambda event: events.append(event))

    result = await run.start(input_data={"city": "London"})

    assert result.status == "success"
    assert [e.type for e in events] == [
        "workflow-start", "step-start", "step-result", "workflow-finish"]
    assert all(e.run_id == run.run_id for e in events)
    assert all(e.workflow_id == "test-workflow" for e in events)
    assert events[2].payload["status"] == "success"
    assert events[2].to_dict()["payload"]["output"] == {"output": "London + step-1"}
