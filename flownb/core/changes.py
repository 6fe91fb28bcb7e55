"""When the workflow changed (SPEC §4b): each stored run's step fingerprints, ``run.changes()``.

Every stored run keeps, in its meta (``"prints"``), the fingerprint of each step's code
and schemas as the run executed it: taken when the run starts, and again, for the steps
that had not completed, when it is resumed, restarted or a fork of it starts. A
fingerprint is ``[code, schema]`` digests: the step function's own code (its source and
bytecode, ``fingerprint.own_code_digest``: a lookup, cheap enough for every run) and its
schemas. So ``changes()`` sees an edit of the step's own function; an edit of a helper it
calls, or of a global it reads, is seen by reuse (whose fingerprint follows them) but not
here.

``changes(ex, stored_graph)`` lists what differs between that and the current definition,
in graph order: ``added`` (a step the stored run never saw), ``removed`` (in the stored
graph, not in the workflow now; a rename is a removal and an addition), ``code``,
``schema``. A run stored before fingerprints were kept shows only added and removed steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .description import walk
from .keys import strip_items
from .reuse import schema_digest

if TYPE_CHECKING:
    from .execution import Execution

__all__ = ["changes", "current_prints", "refresh_prints"]

ADDED, REMOVED, CODE, SCHEMA = "added", "removed", "code", "schema"


def current_prints(workflow: Any) -> dict[str, list[str | None]]:
    """Step path → ``[code digest, schema digest]`` of every step (not nested workflows)
    of ``workflow`` as defined now; the code digest is ``None`` when it cannot be read."""
    from .fingerprint import own_code_digest  # loaded by the first stored run

    out: dict[str, list[str | None]] = {}
    for path, step in workflow.steps.items():
        if not getattr(step, "is_workflow", False):
            out[path] = [own_code_digest(step.execute), schema_digest(step)]
    return out


def refresh_prints(ex: Execution) -> None:
    """Before the run continues (resume, restart, a fork's start): steps that completed
    keep the fingerprints they ran with, the others get the current ones."""
    stored = ex.prints or {}
    done = {strip_items(d) for d, sr in ex.steps.items() if sr.status == "success"}
    ex.prints = {path: stored[path] if path in done and path in stored else now
                 for path, now in current_prints(ex.workflow).items()}


def _step_paths(description: Mapping[str, Any]) -> list[str]:
    return [n.path for n in walk(description) if n.kind == "step"]


def changes(ex: Execution, stored_graph: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """What differs between the stored run in ``ex`` and the current definition."""
    if stored_graph is None and not ex.prints:
        return []  # nothing stored to compare with
    wf = ex.workflow
    now = current_prints(wf)
    stored = ex.prints or {}
    before = _step_paths(stored_graph) if stored_graph else list(stored)
    before_set = set(before) | set(stored)
    done = {strip_items(d) for d, sr in ex.steps.items() if sr.status == "success"}
    out: list[dict[str, str]] = []
    for path, (code, schema) in now.items():
        if path not in before_set:
            out.append(_change(path, ADDED, f"step '{path}' is new: the stored run has no "
                                             "record of it"))
            continue
        old = stored.get(path)
        if old is None:
            continue  # stored before fingerprints were kept
        kept = (" It completed in the stored run, so a resume does not run it again; "
                "fork the run to re-run it.") if path in done else ""
        if old[0] != code:
            out.append(_change(path, CODE, f"the code of step '{path}' changed since the run "
                                           f"stored it.{kept}"))
        elif old[1] != schema:
            out.append(_change(path, SCHEMA, f"the input or output schema of step '{path}' "
                                             f"changed since the run stored it.{kept}"))
    for path in before:
        if path not in now:
            out.append(_change(path, REMOVED, f"step '{path}' is in the stored run but not in "
                                              "the workflow now (removed or renamed)"))
    return out


def _change(path: str, kind: str, detail: str) -> dict[str, str]:
    return {"path": path, "kind": kind, "detail": detail}
