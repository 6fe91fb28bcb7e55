"""The PostgreSQL database's layout: its tables and every statement ``PostgresStore`` runs.

Layout (PostgreSQL storage schema version 2), every table prefixed ``flownb_`` so that one
database (or schema) can hold flownb's runs beside other applications' tables; they go to
the first schema of the connection's ``search_path`` (``options=-csearch_path=team`` in
the conninfo chooses another):

* ``flownb_schema``: one row, the layout's version;
* ``flownb_runs``: one small header row per run (ids, status, version, timestamps, the
  parent run of a forked run, and the suspended paths that ``list_runs`` shows), ``n``
  numbering runs in insertion order (ties of ``created_at``);
* ``flownb_run_bodies``: the run's input and graph description, written once;
* ``flownb_run_meta``: its ``meta``, written only when it changes;
* ``flownb_run_records``: one row per step or journal record, keyed by ``(run_id, kind,
  key)``; ``seq`` orders them by first insertion (see ``flownb.storage.sqlite``: a record
  first written by the change that makes version ``v`` gets ``v << 32 | i``), and an upsert
  keeps it;
* ``flownb_cache``: the step cache's entries (``flownb.storage.cache``), one row each: its
  fingerprint (``key``), workflow, step, run, path and ``created_at`` as columns, its
  output, parts, reads and effects as one JSON text (``data``), ``n`` numbering entries in
  insertion order. ``cache_find`` reads the index on ``(key, created_at, n)``,
  ``cache_last`` the one on ``(workflow_id, step, created_at, n)``, both newest first;
  deleting a run deletes its entries through the index on ``run_id``.

Version 1 had neither ``flownb_cache`` nor ``flownb_runs.parent_run_id``: a database of
version 1 is migrated (``MIGRATIONS``) by the first flownb that opens it, under the
advisory lock; one of a newer version is refused.

Values are JSON *text* (``text`` columns, not ``jsonb``: ``jsonb`` reorders object keys,
and a record must come back exactly as written). Large values are stored inline here (the
SQLite store keeps each one once; not yet this one).

Every write is **one statement**: a batch of updates (or of new runs) arrives as arrays
(sent in PostgreSQL's binary format, ``%(name)b``: no escaping of JSON text on the way),
``unnest`` turns them into rows, and data-modifying ``WITH`` clauses write the header rows
(the version check: ``WHERE version = expected``), the meta and the records of the changes
whose check passed, and the step-cache entries of those changes (``Update.cache``; the
statements that carry no entries are the ones without that clause). On an autocommit
connection a statement is a transaction of its own:
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

STORAGE_SCHEMA_VERSION = 2
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
SET_SCHEMA_VERSION = "UPDATE flownb_schema SET version = %s"

# What version 2 adds to version 1.
_CREATE_CACHE = (
    """CREATE TABLE flownb_cache (
        n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key text NOT NULL,
        workflow_id text NOT NULL,
        step text NOT NULL,
        run_id text NOT NULL,
        path text NOT NULL,
        created_at double precision NOT NULL,
        data text NOT NULL
    )""",
    "CREATE INDEX flownb_cache_by_key ON flownb_cache (key, created_at DESC, n DESC)",
    """CREATE INDEX flownb_cache_by_step ON flownb_cache
        (workflow_id, step, created_at DESC, n DESC)""",
    "CREATE INDEX flownb_cache_by_run ON flownb_cache (run_id)",
)

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
        suspended text NOT NULL,
        parent_run_id text
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
    *_CREATE_CACHE,
)

# The steps from each older version to the next, run in order under the advisory lock in
# one transaction (then ``SET_SCHEMA_VERSION``). 1 -> 2: the step cache, and each run's
# parent (from its meta: written by flownb, so JSON; parsed only where it names one). The
# roles that may read and write runs get the same rights on the new table (the grants of
# docs/team.md, copied from ``flownb_run_records``): deleting a run deletes its entries, and
# without them a team's users could no longer delete runs once their database migrated.
# Identifiers come from the catalog, quoted (``format``'s ``%I``); nothing is spliced.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "ALTER TABLE flownb_runs ADD COLUMN parent_run_id text",
        *_CREATE_CACHE,
        """UPDATE flownb_runs AS r SET parent_run_id = CASE
            WHEN json_typeof(m.meta::json -> 'parent_run_id') = 'string'
            THEN m.meta::json ->> 'parent_run_id' END
        FROM flownb_run_meta AS m
        WHERE m.run_id = r.run_id AND strpos(m.meta, '"parent_run_id"') > 0""",
        """DO $$
        DECLARE g record;
        BEGIN
            FOR g IN SELECT a.grantee, a.privilege_type
                FROM pg_catalog.pg_class c
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
                LATERAL aclexplode(c.relacl) AS a
                WHERE c.relname = 'flownb_run_records' AND n.nspname = current_schema()
                    AND a.grantee <> c.relowner
                    AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
            LOOP
                IF g.grantee = 0 THEN
                    EXECUTE format('GRANT %s ON flownb_cache TO PUBLIC', g.privilege_type);
                ELSE
                    EXECUTE format('GRANT %s ON flownb_cache TO %I', g.privilege_type,
                                   pg_catalog.pg_get_userbyid(g.grantee));
                END IF;
            END LOOP;
        END $$""",
    ),
}

# New runs, a batch as arrays (one element per run; records as their own arrays). The
# caller leaves out ids repeated within the batch; ids already stored are skipped by
# ON CONFLICT, and the run ids actually inserted come back.
INSERT_RUNS = """
WITH c AS (
    SELECT * FROM unnest(%(run_id)b::text[], %(workflow_id)b::text[], %(status)b::text[],
        %(version)b::bigint[], %(created_at)b::float8[], %(updated_at)b::float8[],
        %(schema_version)b::int[], %(suspended)b::text[], %(input)b::text[],
        %(graph)b::text[], %(meta)b::text[], %(parent_run_id)b::text[])
        WITH ORDINALITY AS c(run_id, workflow_id, status, version, created_at, updated_at,
            schema_version, suspended, input, graph, meta, parent_run_id, ord)
), h AS (
    INSERT INTO flownb_runs (run_id, workflow_id, status, version, created_at, updated_at,
        schema_version, suspended, parent_run_id)
    SELECT run_id, workflow_id, status, version, created_at, updated_at, schema_version,
        suspended, parent_run_id FROM c ORDER BY ord
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
_UPDATE_RUNS = """
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
){cache}
SELECT run_id, pg_notify('flownb_runs', run_id) FROM h"""

# The step-cache entries of a batch's changes that passed their check: ``c_of`` is the run
# of the change that carries each entry (the entry's own ``run_id`` is where its step ran).
_CACHE_OF_BATCH = """, x AS (
    INSERT INTO flownb_cache (key, workflow_id, step, run_id, path, created_at, data)
    SELECT e.key, e.workflow_id, e.step, e.run_id, e.path, e.created_at, e.data
    FROM unnest(%(c_of)b::text[], %(c_key)b::text[], %(c_workflow_id)b::text[],
        %(c_step)b::text[], %(c_run_id)b::text[], %(c_path)b::text[],
        %(c_created_at)b::float8[], %(c_data)b::text[])
        WITH ORDINALITY AS e(for_run, key, workflow_id, step, run_id, path, created_at,
            data, ord)
    WHERE e.for_run IN (SELECT run_id FROM h)
    ORDER BY e.ord
)"""
UPDATE_RUNS = {False: _UPDATE_RUNS.replace("{cache}", ""),
               True: _UPDATE_RUNS.replace("{cache}", _CACHE_OF_BATCH)}
"""By whether the batch carries step-cache entries."""

# One run's update, the usual write (a step finished, the next one running): plain
# parameters, no arrays, which PostgreSQL plans and runs faster than ``UPDATE_RUNS`` with
# one element per array (a step of a 100-step chain: about 1.3 commits instead of 2.3).
# ``UPDATE_ONE[n, meta]`` writes ``n`` records (``kind{i}``, ``key{i}``, ``seq{i}``,
# ``data{i}``) and, if ``meta``, the meta; the same version check; the run id comes back if
# it passed. ``UPDATE_ONE[n, meta, True]`` also adds the change's step-cache entries
# (``c_key`` ... arrays) if it passed. Assembled here from constant text for
# n = 0 .. UPDATE_ONE_RECORDS (more records go through ``UPDATE_RUNS``).
UPDATE_ONE_RECORDS = 4


def _update_one(records: int, meta: bool, cache: bool) -> str:
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
    if cache:
        parts.append(""", x AS (
    INSERT INTO flownb_cache (key, workflow_id, step, run_id, path, created_at, data)
    SELECT e.key, e.workflow_id, e.step, e.run_id, e.path, e.created_at, e.data
    FROM h, unnest(%(c_key)b::text[], %(c_workflow_id)b::text[], %(c_step)b::text[],
        %(c_run_id)b::text[], %(c_path)b::text[], %(c_created_at)b::float8[],
        %(c_data)b::text[])
        WITH ORDINALITY AS e(key, workflow_id, step, run_id, path, created_at, data, ord)
    ORDER BY e.ord
)""")
    parts.append("\nSELECT run_id, pg_notify('flownb_runs', run_id) FROM h")
    return "".join(parts)


UPDATE_ONE = {(n, meta, cache): _update_one(n, meta, cache)
              for n in range(UPDATE_ONE_RECORDS + 1) for meta in (False, True)
              for cache in (False, True)}

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
WITH c AS (DELETE FROM flownb_cache WHERE run_id = %(run_id)s),
     r AS (DELETE FROM flownb_run_records WHERE run_id = %(run_id)s),
     m AS (DELETE FROM flownb_run_meta WHERE run_id = %(run_id)s),
     b AS (DELETE FROM flownb_run_bodies WHERE run_id = %(run_id)s),
     h AS (DELETE FROM flownb_runs WHERE run_id = %(run_id)s RETURNING run_id)
SELECT run_id, pg_notify('flownb_runs', run_id) FROM h"""

# One constant statement per filter combination (never SQL built from input).
_LIST = ("SELECT run_id, workflow_id, status, created_at, updated_at, suspended, "
         "parent_run_id FROM flownb_runs")
_ORDER = " ORDER BY created_at DESC, n DESC"
LIST_RUNS = {
    (False, False): _LIST + _ORDER,
    (True, False): _LIST + " WHERE workflow_id = %s" + _ORDER,
    (False, True): _LIST + " WHERE status = %s" + _ORDER,
    (True, True): _LIST + " WHERE workflow_id = %s AND status = %s" + _ORDER,
}

# The step cache (``flownb.storage.cache``): entries added as arrays, read newest first
# through their indexes.
INSERT_CACHE = """
INSERT INTO flownb_cache (key, workflow_id, step, run_id, path, created_at, data)
SELECT e.key, e.workflow_id, e.step, e.run_id, e.path, e.created_at, e.data
FROM unnest(%(c_key)b::text[], %(c_workflow_id)b::text[], %(c_step)b::text[],
    %(c_run_id)b::text[], %(c_path)b::text[], %(c_created_at)b::float8[], %(c_data)b::text[])
    WITH ORDINALITY AS e(key, workflow_id, step, run_id, path, created_at, data, ord)
ORDER BY e.ord"""
_CACHE_COLUMNS = "SELECT key, workflow_id, step, run_id, path, created_at, data FROM flownb_cache"
SELECT_CACHE_BY_KEY = (_CACHE_COLUMNS + " WHERE key = %s ORDER BY created_at DESC, n DESC "
                       "LIMIT %s")
SELECT_CACHE_LAST = (_CACHE_COLUMNS + " WHERE workflow_id = %s AND step = %s "
                     "ORDER BY created_at DESC, n DESC LIMIT 1")
CLEAR_CACHE = "WITH d AS (DELETE FROM flownb_cache RETURNING 1) SELECT count(*) FROM d"
