"""``.commit()`` checks (SPEC §2): structure, unique ids, schema compatibility on every edge."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field
from shared_models import Count, Formatted, Msg, Value

from flownb import (
    SchemaMismatchError,
    Step,
    WorkflowDefinitionError,
    clone_step,
    create_step,
    create_workflow,
)


class CountText(BaseModel):
    count: str


class Text(BaseModel):
    text: str


class ResultText(BaseModel):
    result: str


def mk(step_id: str, input_schema: Any, output_schema: Any) -> Step:
    """A step whose body does not matter: commit checks only look at the schemas."""
    return create_step(id=step_id, input_schema=input_schema, output_schema=output_schema,
                       execute=lambda input_data: input_data)


def always(input_data) -> bool:
    return True


def mismatch(build) -> str:
    """Commit what ``build()`` returns; it must raise SchemaMismatchError. Its message."""
    with pytest.raises(SchemaMismatchError) as info:
        build().commit()
    return str(info.value)


def assert_mentions(message: str, *parts: str) -> None:
    missing = [p for p in parts if p not in message]
    assert not missing, f"{missing} not named in:\n{message}"


# ---------------------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------------------


def test_empty_workflow_is_rejected():
    with pytest.raises(WorkflowDefinitionError, match="empty-wf"):
        create_workflow(id="empty-wf", input_schema=Msg, output_schema=Msg).commit()


def test_duplicate_step_ids_rejected_and_clone_step_suggested():
    s = mk("twice", Msg, Msg)
    with pytest.raises(WorkflowDefinitionError) as info:
        create_workflow(id="wf", input_schema=Msg, output_schema=Msg).then(s).then(s).commit()

    assert_mentions(str(info.value), "twice", "clone_step")


def test_duplicate_ids_across_constructs_rejected():
    a = mk("same", Msg, Msg)
    b = mk("same", Msg, Msg)
    with pytest.raises(WorkflowDefinitionError, match="same"):
        (create_workflow(id="wf", input_schema=Msg)
         .parallel([a, mk("other", Msg, Msg)])
         .map(lambda input_data: input_data["other"])
         .then(b)
         .commit())


def test_clone_step_makes_reuse_legal():
    s = mk("once", Msg, Msg)
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .then(s).then(clone_step(s, id="again")).commit())

    assert list(wf.steps) == ["once", "again"]


@pytest.mark.parametrize(
    "add",
    [
        lambda wf, s: wf.then(s),
        lambda wf, s: wf.parallel([s]),
        lambda wf, s: wf.branch([(always, s)]),
        lambda wf, s: wf.map(lambda input_data: input_data),
        lambda wf, s: wf.dountil(s, always),
        lambda wf, s: wf.dowhile(s, always),
        lambda wf, s: wf.foreach(s),
        lambda wf, s: wf.sleep(1),
    ],
    ids=["then", "parallel", "branch", "map", "dountil", "dowhile", "foreach", "sleep"],
)
def test_adding_after_commit_raises(add):
    wf = create_workflow(id="wf", input_schema=Msg, output_schema=Msg).then(mk("a", Msg, Msg))
    wf.commit()

    with pytest.raises(WorkflowDefinitionError):
        add(wf, mk("late", Msg, Msg))
    assert list(wf.steps) == ["a"]


def test_uncommitted_nested_workflow_is_rejected():
    inner = create_workflow(id="inner", input_schema=Msg, output_schema=Msg).then(
        mk("a", Msg, Msg))  # no .commit()

    with pytest.raises(WorkflowDefinitionError, match="inner"):
        create_workflow(id="outer", input_schema=Msg, output_schema=Msg).then(inner).commit()


def test_commit_returns_the_workflow_and_marks_it_committed():
    wf = create_workflow(id="wf", input_schema=Msg, output_schema=Msg).then(mk("a", Msg, Msg))

    assert wf.commit() is wf
    assert wf.committed


# ---------------------------------------------------------------------------------------
# Schema compatibility, edge by edge
# ---------------------------------------------------------------------------------------


def test_workflow_input_to_first_step_mismatch():
    msg = mismatch(lambda: create_workflow(id="the-wf", input_schema=Msg, output_schema=Text)
                   .then(mk("first-step", Text, Text)))

    assert_mentions(msg, "the-wf", "first-step", "text")


def test_workflow_input_to_first_parallel_steps_mismatch():
    msg = mismatch(lambda: create_workflow(id="the-wf", input_schema=Msg)
                   .parallel([mk("par-ok", Msg, Msg), mk("par-bad", Text, Text)]))

    assert_mentions(msg, "the-wf", "par-bad", "text")


def test_step_to_step_missing_field():
    msg = mismatch(lambda: create_workflow(id="wf", input_schema=Msg, output_schema=Text)
                   .then(mk("producer", Msg, Formatted))
                   .then(mk("consumer", Text, Text)))

    assert_mentions(msg, "producer", "consumer", "text")


def test_step_to_step_wrong_type():
    msg = mismatch(lambda: create_workflow(id="wf", input_schema=Msg, output_schema=Count)
                   .then(mk("producer", Msg, CountText))
                   .then(mk("consumer", Count, Count)))

    assert_mentions(msg, "producer", "consumer", "count")


def test_nested_field_wrong_type_is_named_by_its_path():
    class Outer(BaseModel):
        inner: CountText

    class OuterInt(BaseModel):
        inner: Count

    msg = mismatch(lambda: create_workflow(id="wf", input_schema=Msg, output_schema=OuterInt)
                   .then(mk("producer", Msg, Outer))
                   .then(mk("consumer", OuterInt, OuterInt)))

    assert_mentions(msg, "producer", "consumer", "inner", "count")


def test_int_output_fits_float_input():
    class FloatCount(BaseModel):
        count: float

    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=FloatCount)
          .then(mk("producer", Msg, Count))
          .then(mk("consumer", FloatCount, FloatCount))
          .commit())

    assert wf.committed


class ParallelIn(BaseModel):
    format_step: Formatted = Field(alias="format-step")
    count_step: Count = Field(alias="count-step")


def test_parallel_keyed_dict_fits_aliased_model():
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=ResultText)
          .parallel([mk("format-step", Msg, Formatted), mk("count-step", Msg, Count)])
          .then(mk("combine-step", ParallelIn, ResultText))
          .commit())

    assert wf.committed


def test_parallel_keyed_dict_missing_key_flagged():
    msg = mismatch(lambda: create_workflow(id="wf", input_schema=Msg, output_schema=ResultText)
                   .parallel([mk("format-step", Msg, Formatted), mk("other-step", Msg, Count)])
                   .then(mk("combine-step", ParallelIn, ResultText)))

    assert_mentions(msg, "format-step", "other-step", "combine-step", "count-step")


def test_parallel_keyed_dict_wrong_inner_type_flagged():
    msg = mismatch(lambda: create_workflow(id="wf", input_schema=Msg, output_schema=ResultText)
                   .parallel([mk("format-step", Msg, Formatted), mk("count-step", Msg,
                                                                    CountText)])
                   .then(mk("combine-step", ParallelIn, ResultText)))

    assert_mentions(msg, "count-step", "combine-step", "count")


def test_field_names_without_alias_do_not_match_step_ids():
    class Unaliased(BaseModel):
        format_step: Formatted
        count_step: Count

    msg = mismatch(lambda: create_workflow(id="wf", input_schema=Msg, output_schema=Unaliased)
                   .parallel([mk("format-step", Msg, Formatted), mk("count-step", Msg, Count)])
                   .then(mk("combine-step", Unaliased, Unaliased)))

    assert_mentions(msg, "combine-step", "format_step", "count_step")


class BranchOptional(BaseModel):
    high: ResultText | None = Field(default=None, alias="high-step")
    low: ResultText | None = Field(default=None, alias="low-step")


class BranchRequiresHigh(BaseModel):
    high: ResultText = Field(alias="high-step")


def branch_wf(next_step: Step):
    return (create_workflow(id="wf", input_schema=Value, output_schema=next_step.output_schema)
            .branch([(always, mk("high-step", Value, ResultText)),
                     (always, mk("low-step", Value, ResultText))])
            .then(next_step))


def test_branch_keys_optional_fit_optional_fields():
    wf = branch_wf(mk("final-step", BranchOptional, BranchOptional)).commit()

    assert wf.committed


def test_branch_key_required_by_next_step_is_flagged():
    msg = mismatch(lambda: branch_wf(mk("final-step", BranchRequiresHigh, BranchRequiresHigh)))

    assert_mentions(msg, "final-step", "high-step")


def test_foreach_needs_a_list():
    msg = mismatch(lambda: create_workflow(id="wf", input_schema=Msg, output_schema=list[Msg])
                   .then(mk("producer", Msg, Msg))
                   .foreach(mk("per-item", Msg, Msg)))

    assert_mentions(msg, "producer", "per-item", "foreach")


def test_foreach_needs_a_list_from_workflow_input():
    msg = mismatch(lambda: create_workflow(id="the-wf", input_schema=Msg, output_schema=list[Msg])
                   .foreach(mk("per-item", Msg, Msg)))

    assert_mentions(msg, "the-wf", "per-item")


def test_foreach_item_type_mismatch():
    msg = mismatch(lambda: create_workflow(id="the-wf", input_schema=list[Value],
                                           output_schema=list[Text])
                   .foreach(mk("per-item", Text, Text)))

    assert_mentions(msg, "the-wf", "per-item", "text")


def test_foreach_item_type_from_previous_step():
    msg = mismatch(lambda: create_workflow(id="wf", input_schema=Msg, output_schema=list[Text])
                   .then(mk("producer", Msg, list[Value]))
                   .foreach(mk("per-item", Text, Text)))

    assert_mentions(msg, "producer", "per-item", "text")


def test_foreach_output_is_a_list_for_the_next_step():
    wf = (create_workflow(id="wf", input_schema=list[Value], output_schema=Count)
          .foreach(mk("per-item", Value, Value))
          .then(mk("aggregate", list[Value], Count))
          .commit())
    assert wf.committed

    msg = mismatch(lambda: create_workflow(id="wf", input_schema=list[Value],
                                           output_schema=Count)
                   .foreach(mk("per-item", Value, Value))
                   .then(mk("aggregate", Value, Count)))
    assert_mentions(msg, "per-item", "aggregate")


@pytest.mark.parametrize("loop", ["dountil", "dowhile"])
def test_loop_self_edge_output_must_fit_own_input(loop):
    def build():
        wf = create_workflow(id="wf", input_schema=Value, output_schema=Text)
        return getattr(wf, loop)(mk("looper", Value, Text), always)

    msg = mismatch(build)

    assert_mentions(msg, "looper", "value")


def test_loop_input_edge_checked():
    msg = mismatch(lambda: create_workflow(id="the-wf", input_schema=Msg, output_schema=Value)
                   .dountil(mk("looper", Value, Value), always))

    assert_mentions(msg, "the-wf", "looper", "value")


def test_last_output_to_workflow_output_mismatch():
    msg = mismatch(lambda: create_workflow(id="the-wf", input_schema=Msg, output_schema=Count)
                   .then(mk("last-step", Msg, Formatted)))

    assert_mentions(msg, "last-step", "the-wf", "count")


def test_last_parallel_output_to_workflow_output_mismatch():
    msg = mismatch(lambda: create_workflow(id="the-wf", input_schema=Msg, output_schema=Count)
                   .parallel([mk("a-step", Msg, Msg), mk("b-step", Msg, Msg)]))

    assert_mentions(msg, "the-wf", "count")


def test_all_problems_collected_into_one_error():
    with pytest.raises(SchemaMismatchError) as info:
        (create_workflow(id="wf", input_schema=Msg, output_schema=Count)
         .then(mk("needs-text", Text, Formatted))        # input edge: 'text' missing
         .then(mk("needs-value", Value, CountText))      # 'value' missing
         .then(mk("needs-int", Count, Formatted))        # 'count' of another type
         .commit())                                      # output edge: 'count' missing

    msg = str(info.value)
    assert_mentions(msg, "needs-text", "needs-value", "needs-int", "text", "value", "count")
    assert isinstance(info.value, WorkflowDefinitionError)
    # one problem per edge, each on its own line
    lines = [line for line in msg.splitlines() if "→" in line or "->" in line]
    assert len(lines) >= 4


def test_structurally_equal_distinct_models_are_compatible():
    class FormattedAgain(BaseModel):
        formatted: str

    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=FormattedAgain)
          .then(mk("producer", Msg, Formatted))
          .then(mk("consumer", FormattedAgain, FormattedAgain))
          .commit())

    assert wf.committed


def test_output_with_extra_fields_fits_a_narrower_input():
    class Wide(BaseModel):
        formatted: str
        extra: int

    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Formatted)
          .then(mk("producer", Msg, Wide))
          .then(mk("consumer", Formatted, Formatted))
          .commit())

    assert wf.committed


def test_optional_input_field_not_required_from_producer():
    class MaybeCount(BaseModel):
        formatted: str
        count: int | None = None

    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=MaybeCount)
          .then(mk("producer", Msg, Formatted))
          .then(mk("consumer", MaybeCount, MaybeCount))
          .commit())

    assert wf.committed


def test_aliased_output_fields_are_judged_by_their_serialized_name():
    class AliasedOut(BaseModel):
        value_x: str = Field(alias="value-x")

    class AliasedIn(BaseModel):
        value_x: str = Field(alias="value-x")

    class PlainIn(BaseModel):
        value_x: str

    ok = (create_workflow(id="wf", input_schema=Msg, output_schema=AliasedIn)
          .then(mk("producer", Msg, AliasedOut))
          .then(mk("consumer", AliasedIn, AliasedIn))
          .commit())
    assert ok.committed

    msg = mismatch(lambda: create_workflow(id="wf", input_schema=Msg, output_schema=PlainIn)
                   .then(mk("producer", Msg, AliasedOut))
                   .then(mk("consumer", PlainIn, PlainIn)))
    assert_mentions(msg, "producer", "consumer", "value_x")


def test_map_edge_is_not_checked():
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Count)
          .then(mk("producer", Msg, Formatted))
          .map(lambda input_data: {"count": len(input_data.formatted)})
          .then(mk("consumer", Count, Count))
          .commit())

    assert wf.committed


def test_nested_workflow_edges_use_its_own_schemas():
    inner = (create_workflow(id="inner", input_schema=Text, output_schema=Count)
             .then(mk("inner-step", Text, Count)).commit())

    msg = mismatch(lambda: create_workflow(id="outer", input_schema=Msg, output_schema=Count)
                   .then(mk("producer", Msg, Formatted))
                   .then(inner))

    assert_mentions(msg, "producer", "inner", "text")


# ---------------------------------------------------------------------------------------
# wf.steps and wf.graph
# ---------------------------------------------------------------------------------------


def test_steps_ordered_mapping_including_nested_paths():
    a = mk("a", Msg, Msg)
    x = mk("x", Msg, Msg)
    y = mk("y", Msg, Msg)
    inner = create_workflow(id="inner", input_schema=Msg, output_schema=Msg).then(x).then(
        y).commit()
    p1 = mk("p1", Msg, Msg)
    p2 = mk("p2", Msg, Msg)
    b1 = mk("b1", Msg, Msg)
    loop = mk("loop", Msg, Msg)
    each = mk("each", Msg, Msg)
    wf = (create_workflow(id="wf", input_schema=Msg)
          .then(a)
          .then(inner)
          .parallel([p1, p2])
          .map(lambda input_data: input_data["p1"])
          .branch([(always, b1)])
          .map(lambda input_data: input_data["b1"])
          .dountil(loop, always)
          .map(lambda input_data: [input_data])
          .foreach(each)
          .commit())

    assert list(wf.steps) == ["a", "inner", "inner.x", "inner.y", "p1", "p2", "b1", "loop",
                              "each"]
    assert wf.steps["a"] is a
    assert wf.steps["inner"] is inner
    assert wf.steps["inner.x"] is x
    assert wf.steps["each"] is each


def test_doubly_nested_step_paths():
    leaf = mk("leaf", Msg, Msg)
    middle = create_workflow(id="middle", input_schema=Msg, output_schema=Msg).then(
        leaf).commit()
    outer = create_workflow(id="outer", input_schema=Msg, output_schema=Msg).then(
        middle).commit()
    top = create_workflow(id="top", input_schema=Msg, output_schema=Msg).then(outer).commit()

    assert list(top.steps) == ["outer", "outer.middle", "outer.middle.leaf"]
    assert top.steps["outer.middle.leaf"] is leaf


def test_graph_has_one_entry_per_construct_in_order():
    wf = (create_workflow(id="wf", input_schema=Msg)
          .then(mk("a", Msg, Msg))
          .parallel([mk("p1", Msg, Msg), mk("p2", Msg, Msg)])
          .map(lambda input_data: input_data["p1"])
          .branch([(always, mk("b1", Msg, Msg))])
          .map(lambda input_data: input_data["b1"])
          .dountil(mk("u", Msg, Msg), always)
          .dowhile(mk("w", Msg, Msg), lambda: False)
          .sleep(0)
          .map(lambda input_data: [input_data])
          .foreach(mk("each", Msg, Msg))
          .commit())

    kinds = [entry.kind for entry in wf.graph.entries]

    assert kinds == ["step", "parallel", "map", "branch", "map", "loop", "loop", "sleep",
                     "map", "foreach"]
    assert [s.id for s in wf.graph.entries[1].steps] == ["p1", "p2"]
    assert wf.graph.entries[0].step.id == "a"
