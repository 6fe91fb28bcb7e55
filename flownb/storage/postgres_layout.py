"""The PostgreSQL database's layout: its tables and every statement ``PostgresStore`` runs.

Layout (PostgreSQL storage schema version 1), every table prefixed ``flownb_`` so that one
database (or schema) can hold flownb's runs beside other applications' tables; they go to
the first schema of the connection's ``search_path`` (``options=-csearch_path=team`` in
the conninfo chooses another):

* ``flownb_schema``: one row, the layout's version;
* ``flownb_runs``: one small header row per run (ids, status, version, timestamps, and the
  suspended paths that ``list_runs`` shows), ``n`` numbering runs in insertion order (ties
  of ``created_at``);
* ``flownb_run_bodies``: the run's input and graph description, written once;
* ``flownb_run_meta``: its ``meta``, written only when it changes;
* ``flownb_run_records``: one row per step or journal record, keyed by ``(run_id, kind,
  key)``; ``seq`` orders them by first insertion (see ``flownb.storage.sqlite``: a record
  first written by the change that makes version ``v`` gets ``v << 32 | i``), and an upsert
  keeps it.

Values are JSON *text* (``text`` columns, not ``jsonb``: ``jsonb`` reorders object keys,
and a record must come back exactly as written). Large values are stored inline here (the
SQLite store keeps each one once; not yet this one).

Every write is **one statement**: a batch of updates (or of new runs) arrives as arrays
(sent in PostgreSQL's binary format, ``%(name)b``: no escaping of JSON text on the way),
``unnest`` turns them into rows, and data-modifying ``WITH`` clauses write the header rows
(the version check: ``WHERE version = expected``), the meta and the records of the changes
whose check passed. On an autocommit connection a statement is a transaction of its own:
one round trip and one commit per group commit, atomic, and exactly one of two concurrent
resumes passes its check (the second waits for the first's row lock, then finds the
version moved on).

Every write that changes a run (insert, update, delete) also sends
``pg_notify('flownb_runs', run_id)`` in the same statement: PostgreSQL delivers it when the
transaction commits, to every session that ran ``LISTEN flownb_runs`` on the database
(``PostgresStore.on_change``), and drops it with a transaction that fails.

Every statement is a constant; nothing of the input is ever spliced into SQL.
"""

from __future__ import annotations

__all__ = ["STORAGE_SCHEMA_VERSION"]

STORAGE_SCHEMA_VERSION = 1
"""Version of the table layout below; stored in ``flownb_schema``."""

# pg_advisory_xact_lock's key: the tables are created or migrated by one session at a time
# (the bytes of "flownb" as a number).
ADVISORY_LOCK_KEY = 0x666C6F776E62

LOCK = "SELECT pg_advisory_xact_lock(%s)"
# Read from the catalog with the statement's own snapshot (not ``to_regclass``, whose
# catalog cache may not have heard yet of a table that the session holding the advisory
# lock before us created: an advisory lock does not refresh it).
FIND_SCHEMA_TABLE = """SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relname = 'flownb_schema' AND n.nspname = current_schema())"""
SELECT_SCHEMA_VERSION = "SELECT max(version) FROM flownb_schema"
INSERT_SCHEMA_VERSION = "INSERT INTO flownb_schema (version) VALUES (%s)"

CREATE_TABLES = (
    "CREATE TABLE flownb_schema (version integer NOT NULL)",
    """CREATE TABLE flownb_runs (
        run_id text PRIMARY KEY,
        n bigint GENERATED ALWAYS AS IDENTITY,
        workflow_id text NOT NULL,
        status text NOT NULL,
        version bigint NOT NULL,
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL,
        schema_version integer NOT NULL,
        suspended text NOT NULL
    )""",
    "CREATE INDEX flownb_runs_by_created ON flownb_runs (created_at DESC, n DESC)",
    "CREATE INDEX flownb_runs_by_workflow ON flownb_runs (workflow_id, created_at DESC)",
    "CREATE INDEX flownb_runs_by_status ON flownb_runs (status)",
    """CREATE TABLE flownb_run_bodies (
        run_id text PRIMARY KEY,
        input text NOT NULL,
        graph text NOT NULL
    )""",
    """CREATE TABLE flownb_run_meta (
        run_id text PRIMARY KEY,
        meta text NOT NULL
    )""",
    """CREATE TABLE flownb_run_records (
        run_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('step', 'journal')),
        key text NOT NULL,
        seq bigint NOT NULL,
        data text NOT NULL,
        PRIMARY KEY (run_id, kind, key)
    )""",
)

# New runs, a batch as arrays (one element per run; records as their own arrays). The
# caller leaves out ids repeated within the batch; ids already stored are skipped by
# ON CONFLICT, and the run ids actually inserted come back.
INSERT_RUNS = """
WITH c AS (
    SELECT * FROM unnest(%(run_id)b::text[], %(workflow_id)b::text[], %(status)b::text[],
        %(version)b::bigint[], %(created_at)b::float8[], %(updated_at)b::float8[],
        %(schema_version)b::int[], %(suspended)b::text[], %(input)b::text[],
        %(graph)b::text[], %(meta)b::text[])
        WITH ORDINALITY AS c(run_id, workflow_id, status, version, created_at, updated_at,
            schema_version, suspended, input, graph, meta, ord)
), h AS (
    INSERT INTO flownb_runs (run_id, workflow_id, status, version, created_at, updated_at,
        schema_version, suspended)
    SELECT run_id, workflow_id, status, version, created_at, updated_at, schema_version,
        suspended FROM c ORDER BY ord
    ON CONFLICT (run_id) DO NOTHING
    RETURNING run_id
), b AS (
    INSERT INTO flownb_run_bodies (run_id, input, graph)
    SELECT c.run_id, c.input, c.graph FROM c JOIN h USING (run_id)
), m AS (
    INSERT INTO flownb_run_meta (run_id, meta)
    SELECT c.run_id, c.meta FROM c JOIN h USING (run_id)
), r AS (
    INSERT INTO flownb_run_records (run_id, kind, key, seq, data)
    SELECT k.run_id, k.kind, k.key, k.seq, k.data
    FROM unnest(%(r_run_id)b::text[], %(r_kind)b::text[], %(r_key)b::text[],
        %(r_seq)b::bigint[], %(r_data)b::text[]) AS k(run_id, kind, key, seq, data)
    WHERE k.run_id IN (SELECT run_id FROM h)
)
SELECT run_id, pg_notify('flownb_runs', run_id) FROM h"""

# Updates of distinct runs, a batch as arrays. A change applies only if its run is at the
# expected version; NULL status, suspended or meta leave the stored one. The run ids whose
# check passed come back.
UPDATE_RUNS = """
WITH c AS (
    SELECT * FROM unnest(%(run_id)b::text[], %(expected)b::bigint[], %(status)b::text[],
        %(updated_at)b::float8[], %(suspended)b::text[], %(meta)b::text[])
        AS c(run_id, expected, status, updated_at, suspended, meta)
), h AS (
    UPDATE flownb_runs AS r SET status = coalesce(c.status, r.status),
        updated_at = c.updated_at, suspended = coalesce(c.suspended, r.suspended),
        version = r.version + 1
    FROM c WHERE r.run_id = c.run_id AND r.version = c.expected
    RETURNING r.run_id
), m AS (
    UPDATE flownb_run_meta AS m SET meta = c.meta
    FROM c WHERE m.run_id = c.run_id AND c.meta IS NOT NULL
        AND c.run_id IN (SELECT run_id FROM h)
), r AS (
    INSERT INTO flownb_run_records AS old (run_id, kind, key, seq, data)
    SELECT k.run_id, k.kind, k.key, k.seq, k.data
    FROM unnest(%(r_run_id)b::text[], %(r_kind)b::text[], %(r_key)b::text[],
        %(r_seq)b::bigint[], %(r_data)b::text[]) AS k(run_id, kind, key, seq, data)
    WHERE k.run_id IN (SELECT run_id FROM h)
    ON CONFLICT (run_id, kind, key) DO UPDATE SET data = excluded.data
)
SELECT run_id, pg_notify('flownb_runs', run_id) FROM h"""

# One run's update, the usual write (a step finished, the next one running): plain
# parameters, no arrays, which PostgreSQL plans and runs faster than ``UPDATE_RUNS`` with
# one element per array (a step of a 100-step chain: about 1.3 commits instead of 2.3).
# ``UPDATE_ONE[n, meta]`` writes ``n`` records (``kind{i}``, ``key{i}``, ``seq{i}``,
# ``data{i}``) and, if ``meta``, the meta; the same version check; the run id comes back if
# it passed. Assembled here from constant text for n = 0 .. UPDATE_ONE_RECORDS (more
# records go through ``UPDATE_RUNS``).
UPDATE_ONE_RECORDS = 4


def _update_one(records: int, meta: bool) -> str:
    parts = ["""WITH h AS (
    UPDATE flownb_runs SET status = coalesce(%(status)s, status), updated_at = %(updated_at)s,
        suspended = coalesce(%(suspended)s, suspended), version = version + 1
    WHERE run_id = %(run_id)s AND version = %(expected)s
    RETURNING run_id
)"""]
    if meta:
        parts.append(""", m AS (
    UPDATE flownb_run_meta AS m SET meta = %(meta)s FROM h WHERE m.run_id = h.run_id
)""")
    if records:
        rows = ", ".join(f"(%(kind{i})s, %(key{i})s, %(seq{i})s::bigint, %(data{i})s)"
                         for i in range(records))
        parts.append(f""", r AS (
    INSERT INTO flownb_run_records (run_id, kind, key, seq, data)
    SELECT h.run_id, k.kind, k.key, k.seq, k.data
    FROM h, (VALUES {rows}) AS k(kind, key, seq, data)
    ON CONFLICT (run_id, kind, key) DO UPDATE SET data = excluded.data
)""")
    parts.append("\nSELECT run_id, pg_notify('flownb_runs', run_id) FROM h")
    return "".join(parts)


UPDATE_ONE = {(n, meta): _update_one(n, meta)
              for n in range(UPDATE_ONE_RECORDS + 1) for meta in (False, True)}

# Watchers' channel (``LISTEN``): every write of a run notifies it with the run id.
CHANNEL = "flownb_runs"
LISTEN = "LISTEN flownb_runs"

SELECT_VERSIONS = "SELECT run_id, version FROM flownb_runs WHERE run_id = ANY(%b::text[])"

# A run's header row, then its records in order, in one statement (one snapshot): the
# columns are (part, seq, kind, key, data, workflow_id, status, version, created_at,
# updated_at, schema_version, input, graph, meta), the header's first five and the
# records' last nine NULL.
SELECT_SNAPSHOT = """
SELECT 0 AS part, 0::bigint AS seq, NULL AS kind, NULL AS key, NULL AS data,
    r.workflow_id, r.status, r.version, r.created_at, r.updated_at, r.schema_version,
    b.input, b.graph, m.meta
    FROM flownb_runs r JOIN flownb_run_bodies b USING (run_id)
    JOIN flownb_run_meta m USING (run_id)
    WHERE r.run_id = %(run_id)s
UNION ALL
SELECT 1, seq, kind, key, data, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM flownb_run_records WHERE run_id = %(run_id)s
ORDER BY 1, 2"""

DELETE_RUN = """
WITH r AS (DELETE FROM flownb_run_records WHERE run_id = %(run_id)s),
     m AS (DELETE FROM flownb_run_meta WHERE run_id = %(run_id)s),
     b AS (DELETE FROM flownb_run_bodies WHERE run_id = %(run_id)s),
     h AS (DELETE FROM flownb_runs WHERE run_id = %(run_id)s RETURNING run_id)
SELECT run_id, pg_notify('flownb_runs', run_id) FROM h"""

# One constant statement per filter combination (never SQL built from input).
_LIST = ("SELECT run_id, workflow_id, status, created_at, updated_at, suspended "
         "FROM flownb_runs")
_ORDER = " ORDER BY created_at DESC, n DESC"
LIST_RUNS = {
    (False, False): _LIST + _ORDER,
    (True, False): _LIST + " WHERE workflow_id = %s" + _ORDER,
    (False, True): _LIST + " WHERE status = %s" + _ORDER,
    (True, True): _LIST + " WHERE workflow_id = %s AND status = %s" + _ORDER,
}
