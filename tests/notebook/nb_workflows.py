"""Workflows the notebook-layer tests share: a review that suspends, and a small pipeline."""

from __future__ import annotations

import enum
from typing import Literal

from pydantic import BaseModel, Field

from flownb import create_step, create_workflow


class Doc(BaseModel):
    text: str


class Reviewer(BaseModel):
    name: str = Field(min_length=2, description="who reviewed it")
    email: str | None = None


class Tone(enum.Enum):
    KIND = "kind"
    BLUNT = "blunt"


class Review(BaseModel):
    """What the reviewer decides."""

    approved: bool
    score: int = Field(ge=0, le=10, description="how good <b>is</b> it")
    note: str | None = None
    mood: Literal["calm", "excited"] = "calm"
    tone: Tone = Tone.KIND
    tags: list[str] = []
    reviewer: Reviewer


async def draft(input_data: Doc) -> dict[str, str]:
    return {"text": input_data.text + "!"}


async def review(input_data: Doc, resume_data: Review | None, suspend):  # type: ignore[no-untyped-def]
    if resume_data is None:
        return await suspend({"question": "publish <script>alert(1)</script>?"})
    verdict = "yes" if resume_data.approved else "no"
    return {"text": f"{input_data.text} {verdict} {resume_data.score} by "
                    f"{resume_data.reviewer.name}"}


def review_workflow(storage: object = None) -> object:
    wf = create_workflow(id="review-flow", input_schema=Doc, output_schema=Doc,
                         description="draft, then a person reviews",
                         **({} if storage is None else {"storage": storage}))
    return (wf.then(create_step(id="draft", input_schema=Doc, output_schema=Doc,
                                execute=draft, description='writes "the" <draft>'))
              .then(create_step(id="review", input_schema=Doc, output_schema=Doc,
                                resume_schema=Review, execute=review))
              .commit())


class Ok(BaseModel):
    ok: bool


async def approve(input_data: Doc, resume_data: Ok | None, suspend):  # type: ignore[no-untyped-def]
    if resume_data is None:
        return await suspend({"asks": "approve?"})
    return {"text": f"{input_data.text}:{resume_data.ok}"}


class Both(BaseModel):
    legal: Doc
    finance: Doc


def parallel_approvals() -> object:
    def gate(step_id: str):  # type: ignore[no-untyped-def]
        return create_step(id=step_id, input_schema=Doc, output_schema=Doc, resume_schema=Ok,
                           execute=approve)

    async def join(input_data: Both) -> dict[str, str]:
        return {"text": f"{input_data.legal.text}+{input_data.finance.text}"}

    return (create_workflow(id="two-approvals", input_schema=Doc, output_schema=Doc)
            .parallel([gate("legal"), gate("finance")])
            .then(create_step(id="join", input_schema=Both, output_schema=Doc, execute=join))
            .commit())
