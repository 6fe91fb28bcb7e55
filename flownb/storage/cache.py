"""The step cache's index: what a store keeps so that a step execution can be reused.

A run with reuse on (SPEC §3d) writes one :class:`CacheEntry` for each step execution that
succeeded and may be reused, in one of the run's writes (``Update.cache``: its last one, or
one in every ``core.recorder.CACHE_BATCH`` entries). A
later run that reaches a step with the same fingerprint (``key``) finds it with
:meth:`Store.cache_find` — one indexed read — and reuses its output instead of running
the step. ``cache_last`` finds the latest entry of a step whatever its fingerprint: what
``wf.plan`` compares with to say *why* a step will run (its code, or which input field,
changed).

Everything in an entry is JSON data. The output is kept in the entry itself (a lookup
must not load the whole run it came from), so a reused value is stored twice: once in
the run that computed it and once here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CACHE_FIND_LIMIT", "CacheEntry"]

CACHE_FIND_LIMIT = 16
"""``cache_find`` returns at most this many entries (newest first): entries with one key
differ only in the outputs of other steps their step read, and a few are plenty."""


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One reusable step execution.

    >>> e = CacheEntry(key="9f2c", workflow_id="wf", step="score", run_id="r1",
    ...                path="score", output={"score": 3}, parts={"code": "ab12"})
    >>> e.cached_from
    {'run_id': 'r1', 'path': 'score'}
    """

    key: str
    """The fingerprint: code, schemas, input and declared data (``core.reuse``)."""
    workflow_id: str
    """The workflow of the run the step ran in."""
    step: str
    """The step's dotted path without item markers (``"outer.review"``)."""
    run_id: str
    """The run where the step actually ran."""
    path: str
    """Its dotted path in that run, with item markers (``"outer.review[2]"``)."""
    output: Any
    """The output, as stored JSON."""
    parts: dict[str, Any] = field(default_factory=dict)
    """The fingerprint's parts (code and schema digests, the canonical input, the digests of
    the state, runtime context and init data it declared), for saying what changed."""
    reads: dict[str, str] = field(default_factory=dict)
    """Dotted path -> digest of each other step's output it read through
    ``get_step_result``; reuse requires each still to be the same."""
    effects: dict[str, Any] = field(default_factory=dict)
    """What it did besides returning its output, replayed on reuse: ``{"new_state": …}`` when it
    set the workflow state."""
    created_at: float = 0.0

    @property
    def cached_from(self) -> dict[str, str]:
        """``StepResult.cached_from`` of a step reused from this entry."""
        return {"run_id": self.run_id, "path": self.path}

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "workflow_id": self.workflow_id, "step": self.step,
                "run_id": self.run_id, "path": self.path, "output": self.output,
                "parts": self.parts, "reads": self.reads, "effects": self.effects,
                "created_at": self.created_at}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> CacheEntry:
        return cls(key=doc["key"], workflow_id=doc["workflow_id"], step=doc["step"],
                   run_id=doc["run_id"], path=doc["path"], output=doc.get("output"),
                   parts=dict(doc.get("parts") or {}), reads=dict(doc.get("reads") or {}),
                   effects=dict(doc.get("effects") or {}),
                   created_at=float(doc.get("created_at") or 0.0))
