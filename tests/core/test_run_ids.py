"""Run ids are UUIDs of version 7 (RFC 9562): 32 hex digits that sort in the order runs were
made, so the rows of runs made together sit side by side in a store's indexes."""

from __future__ import annotations

import re
import time
import uuid

from flownb import create_step, create_workflow
from flownb.core.clock import new_run_id


def test_a_run_id_is_a_version_7_uuid_of_now():
    before = time.time_ns() // 1_000_000
    run_id = new_run_id()
    after = time.time_ns() // 1_000_000
    assert re.fullmatch(r"[0-9a-f]{32}", run_id)
    parsed = uuid.UUID(run_id)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert before <= int(run_id[:12], 16) <= after  # its milliseconds since the epoch


def test_run_ids_sort_in_the_order_they_were_made_and_differ():
    ids = [new_run_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    # the random part (the last 16 digits after the variant bits) is not a counter
    tails = {run_id[-8:] for run_id in ids}
    assert len(tails) > 19_900


def test_runs_get_such_ids():
    wf = (create_workflow(id="ids", input_schema=int, output_schema=int, storage=False)
          .then(create_step(id="a", input_schema=int, output_schema=int,
                            execute=lambda input_data: input_data)).commit())
    first, second = wf.create_run(), wf.create_run()
    assert first.run_id < second.run_id
    assert uuid.UUID(first.run_id).version == 7
