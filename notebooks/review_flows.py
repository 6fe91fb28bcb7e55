"""The workflows of ``03-human-in-the-loop.ipynb``: a review before publishing, and two
approvals given in parallel.

They live in a module, not in the notebook, because a run that waits for a person may be
resumed by another process (tomorrow's kernel, or ``flownb resume`` in a terminal), and
that process has to import the same definition. ``flownb run review_flows:publish_review``
finds them from this folder.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from flownb import create_step, create_workflow


class Draft(BaseModel):
    title: str
    body: str


class Question(BaseModel):
    """What the paused step shows the reviewer."""

    question: str
    words: int


class Review(BaseModel):
    """What the reviewer answers."""

    approved: bool = Field(description="publish it?")
    reviewer: str = Field(min_length=2, description="who decided")
    comment: str = ""


class Decision(BaseModel):
    title: str
    approved: bool
    reviewer: str
    comment: str


class Published(BaseModel):
    title: str
    status: str
    note: str


def prepare(input_data: Draft) -> Draft:
    return Draft(title=input_data.title.strip().title(), body=input_data.body.strip())


def review(input_data: Draft, resume_data: Review | None, suspend) -> Decision:
    if resume_data is None:  # first time here: stop and ask
        return suspend({"question": f"Publish {input_data.title!r}?",
                        "words": len(input_data.body.split())})
    return Decision(title=input_data.title, approved=resume_data.approved,
                    reviewer=resume_data.reviewer, comment=resume_data.comment)


def publish(input_data: Decision) -> Published:
    if not input_data.approved:
        return Published(title=input_data.title, status="rejected",
                         note=f"{input_data.reviewer}: {input_data.comment or 'no'}")
    return Published(title=input_data.title, status="published",
                     note=f"approved by {input_data.reviewer}")


publish_review = (
    create_workflow(id="publish-review", description="prepare a draft, a person reviews it, "
                    "then it is published (or not)", input_schema=Draft,
                    output_schema=Published)
    .then(create_step(id="prepare", input_schema=Draft, output_schema=Draft, execute=prepare))
    .then(create_step(id="review", description="a person approves or rejects the draft",
                      input_schema=Draft, output_schema=Decision, suspend_schema=Question,
                      resume_schema=Review, execute=review))
    .then(create_step(id="publish", input_schema=Decision, output_schema=Published,
                      execute=publish))
    .commit()
)


# -- two approvals at once ------------------------------------------------------------------


class Expense(BaseModel):
    item: str
    amount: float


class Approval(BaseModel):
    ok: bool
    by: str = Field(min_length=2)


class Signed(BaseModel):
    ok: bool
    by: str


class Approvals(BaseModel):
    legal: Signed
    finance: Signed


class Ask(BaseModel):
    question: str


class Outcome(BaseModel):
    item: str
    approved: bool
    signed_by: list[str]


def ask_for_approval(input_data: Expense, resume_data: Approval | None, suspend) -> Signed:
    if resume_data is None:
        return suspend({"question": f"Approve {input_data.item} ({input_data.amount:.2f})?"})
    return Signed(ok=resume_data.ok, by=resume_data.by)


def decide(input_data: Approvals, get_init_data) -> Outcome:
    signed = [input_data.legal, input_data.finance]
    return Outcome(item=get_init_data().item, approved=all(s.ok for s in signed),
                   signed_by=[s.by for s in signed])


expense_approval = (
    create_workflow(id="expense-approval", description="legal and finance approve at the "
                    "same time; both must say yes", input_schema=Expense,
                    output_schema=Outcome)
    .parallel([
        create_step(id="legal", input_schema=Expense, output_schema=Signed,
                    suspend_schema=Ask, resume_schema=Approval, execute=ask_for_approval),
        create_step(id="finance", input_schema=Expense, output_schema=Signed,
                    suspend_schema=Ask, resume_schema=Approval, execute=ask_for_approval),
    ])
    .then(create_step(id="decide", input_schema=Approvals, output_schema=Outcome,
                      execute=decide))
    .commit()
)
