"""The PostgreSQL database's layout: its tables and every statement ``PostgresStore`` runs.

Layout (PostgreSQL storage schema version 3), every table prefixed ``flownb_`` so that one
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
* ``flownb_values``: each large value once (``flownb.storage.values``, as in the SQLite
  store): a value of at least ``INLINE_LIMIT`` characters of JSON is cut at its large
  parts, each stored once however many records, runs and workflows hold it, under its
  name (the SHA-256 of its text), with ``uses``, the number of rows that refer to it. The
  row that holds the value keeps its JSON with ``null`` in their place and, in its
  ``refs`` column (``input_refs`` and ``graph_refs`` in ``flownb_run_bodies``), which
  shared value goes where; ``refs`` NULL: the value is held whole;
* ``flownb_cache``: the step cache's entries (``flownb.storage.cache``), one row each: its
  fingerprint (``key``), workflow, step, run, path and ``created_at`` as columns, its
  output, parts, reads and effects as one JSON text (``data``, held whole), ``n``
  numbering entries in insertion order. ``cache_find`` reads the index on ``(key,
  created_at, n)``, ``cache_last`` the one on ``(workflow_id, step, created_at, n)``, both
  newest first; deleting a run deletes its entries through the index on ``run_id``.

Uses are counted by the writes themselves: a write that stores rows referring to shared
values adds, in the same statement, one use per such row and value (``INSERT ... ON
CONFLICT (name) DO UPDATE``: a new name is inserted with its text, a known one only
counted; only for the changes whose version check passed). Triggers let go of them:
``AFTER UPDATE OR DELETE`` on the records, meta and bodies, for a row whose old ``refs``
is not NULL, subtract one use of each value it named and delete a value that no row uses
any more. An ``AFTER`` trigger runs when its statement has done everything else, so a value
that a rewritten row keeps (counted again by the same statement) never reaches zero on the
way, and forgetting a run, or rewriting a record, frees what nothing else holds in the
transaction that did it, whatever other sessions write. A write that refers to no shared
value (the usual step) sends the parameters it sent before values were shared, in the
statement of layout 2 but for ``refs = NULL`` where it rewrites a row; its triggers are
skipped by their ``WHEN``.

Adding and letting go of uses lock rows of ``flownb_values``: in the write's statement for
the values it refers to, in its triggers at the statement's end for the ones it lets go
of. Two writers doing both for the same two values would lock them in opposite orders and
wait for each other; so each statement that touches shared values first takes a
transaction advisory lock (``VALUES_LOCK_KEY``), and writers of large values take turns.

Version 1 had neither ``flownb_cache`` nor ``flownb_runs.parent_run_id``; version 2 kept
every value inline. A database of an older version is migrated (``MIGRATIONS``) by the
first flownb that opens it, under the advisory lock, in one transaction (2 -> 3 adds
columns, a table and triggers and rewrites no row: the values stored inline stay so, with
``refs`` NULL, until their row is next written); one of a newer version is refused.

Values are JSON *text* (``text`` columns, not ``jsonb``: ``jsonb`` reorders object keys,
and a record must come back exactly as written).

Every write is **one statement**: a batch of updates (or of new runs) arrives as arrays
(sent in PostgreSQL's binary format, ``%(name)b``: no escaping of JSON text on the way),
``unnest`` turns them into rows, and data-modifying ``WITH`` clauses write the header rows
(the version check: ``WHERE version = expected``), the meta and the records of the changes
whose check passed, the uses of the shared values they refer to, and the step-cache
entries of those changes (``Update.cache``; the statements that carry no shared values, or
no entries, are the ones without that clause). On an autocommit
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

STORAGE_SCHEMA_VERSION = 3
"""Version of the table layout below; stored in ``flownb_schema``."""

# pg_advisory_xact_lock's key: the tables are created or migrated by one session at a time
# (the bytes of "flownb" as a number).
ADVISORY_LOCK_KEY = 0x666C6F776E62

# Taken (for the transaction) by every statement that adds or lets go of uses of shared
# values, before it locks a row of ``flownb_values``: a write adds uses in its statement and
# lets go of others in its triggers at the statement's end, so two writers would otherwise
# lock the same two values in opposite orders and wait for each other (a deadlock the
# server breaks after its ``deadlock_timeout``, a second). Writes without large values, the
# usual step, never take it.
VALUES_LOCK_KEY = ADVISORY_LOCK_KEY + 1

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


def _release(*columns: str) -> str:
    """The body of a trigger function that lets go of the shared values named by the old
    row's ``columns`` (constant names, below): one use less of each per column that names
    it, and the values no row uses any more deleted. The rows are locked first, in the
    order of their names, as the writes that add uses lock them: two statements that take
    up and let go of the same values seldom wait for each other in a circle."""
    refs = ", ".join(f"OLD.{column}" for column in columns)
    return f"""$$
    BEGIN
        PERFORM pg_advisory_xact_lock({VALUES_LOCK_KEY});
        PERFORM 1 FROM flownb_values AS v WHERE v.name IN (
            SELECT json_object_keys(r.refs::json) FROM unnest(ARRAY[{refs}]) AS r(refs))
            ORDER BY v.name FOR UPDATE;
        UPDATE flownb_values AS v SET uses = v.uses - k.n
        FROM (SELECT e.name, count(*) AS n FROM unnest(ARRAY[{refs}]) AS r(refs),
                LATERAL json_object_keys(r.refs::json) AS e(name)
            GROUP BY e.name) AS k
        WHERE v.name = k.name;
        DELETE FROM flownb_values AS v WHERE v.uses <= 0 AND v.name IN (
            SELECT json_object_keys(r.refs::json) FROM unnest(ARRAY[{refs}]) AS r(refs));
        RETURN NULL;
    END $$"""


# What version 3 adds to version 2: the shared values, and the triggers that let go of
# them (see the module's docstring). A value's text is written once; a change of its uses
# leaves its text where it is (TOAST: a new row version points at the same chunks).
_CREATE_SHARING = (
    """CREATE TABLE flownb_values (
        name text PRIMARY KEY,
        data text NOT NULL,
        uses bigint NOT NULL
    )""",
    "CREATE FUNCTION flownb_row_released() RETURNS trigger LANGUAGE plpgsql AS "
    + _release("refs"),
    "CREATE FUNCTION flownb_body_released() RETURNS trigger LANGUAGE plpgsql AS "
    + _release("input_refs", "graph_refs"),
    """CREATE TRIGGER flownb_released AFTER UPDATE OR DELETE ON flownb_run_records
        FOR EACH ROW WHEN (OLD.refs IS NOT NULL) EXECUTE FUNCTION flownb_row_released()""",
    """CREATE TRIGGER flownb_released AFTER UPDATE OR DELETE ON flownb_run_meta
        FOR EACH ROW WHEN (OLD.refs IS NOT NULL) EXECUTE FUNCTION flownb_row_released()""",
    """CREATE TRIGGER flownb_released AFTER UPDATE OR DELETE ON flownb_run_bodies
        FOR EACH ROW WHEN (OLD.input_refs IS NOT NULL OR OLD.graph_refs IS NOT NULL)
        EXECUTE FUNCTION flownb_body_released()""",
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
    # The columns in the order a migrated version 2 database has them (refs last).
    """CREATE TABLE flownb_run_bodies (
        run_id text PRIMARY KEY,
        input text NOT NULL,
        graph text NOT NULL,
        input_refs text,
        graph_refs text
    )""",
    """CREATE TABLE flownb_run_meta (
        run_id text PRIMARY KEY,
        meta text NOT NULL,
        refs text
    )""",
    """CREATE TABLE flownb_run_records (
        run_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('step', 'journal')),
        key text NOT NULL,
        seq bigint NOT NULL,
        data text NOT NULL,
        refs text,
        PRIMARY KEY (run_id, kind, key)
    )""",
    *_CREATE_CACHE,
    *_CREATE_SHARING,
)


def _copy_grants(table: str) -> str:
    """A ``DO`` block that gives the roles that may read and write runs (the grants of
    docs/team.md, read from ``flownb_run_records``) the same rights on ``table`` (a
    constant name, below). Identifiers come from the catalog, quoted (``format``'s
    ``%I``); nothing is spliced."""
    return """DO $$
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
                    EXECUTE format('GRANT %s ON {table} TO PUBLIC', g.privilege_type);
                ELSE
                    EXECUTE format('GRANT %s ON {table} TO %I', g.privilege_type,
                                   pg_catalog.pg_get_userbyid(g.grantee));
                END IF;
            END LOOP;
        END $$""".replace("{table}", table)


# The steps from each older version to the next, run in order under the advisory lock in
# one transaction (then ``SET_SCHEMA_VERSION``). 1 -> 2: the step cache, and each run's
# parent (from its meta: written by flownb, so JSON; parsed only where it names one).
# 2 -> 3: the shared values, the ``refs`` columns (``ADD COLUMN`` of a column without a
# default rewrites no row: every value stored so far stays inline, ``refs`` NULL) and the
# triggers. The roles that may read and write runs get the same rights on each new table
# (``_copy_grants``): deleting a run deletes its entries and lets go of its values, and
# without them a team's users could no longer write or delete runs once their database
# migrated.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "ALTER TABLE flownb_runs ADD COLUMN parent_run_id text",
        *_CREATE_CACHE,
        """UPDATE flownb_runs AS r SET parent_run_id = CASE
            WHEN json_typeof(m.meta::json -> 'parent_run_id') = 'string'
            THEN m.meta::json ->> 'parent_run_id' END
        FROM flownb_run_meta AS m
        WHERE m.run_id = r.run_id AND strpos(m.meta, '"parent_run_id"') > 0""",
        _copy_grants("flownb_cache"),
    ),
    2: (
        "ALTER TABLE flownb_run_bodies ADD COLUMN input_refs text, ADD COLUMN graph_refs text",
        "ALTER TABLE flownb_run_meta ADD COLUMN refs text",
        "ALTER TABLE flownb_run_records ADD COLUMN refs text",
        *_CREATE_SHARING,
        _copy_grants("flownb_values"),
    ),
}

# The uses of shared values a batch's rows add (a clause of ``INSERT_RUNS`` and
# ``UPDATE_RUNS``): ``v_name``/``v_data``, each value once; ``u_of``/``u_name``/``u_uses``,
# how many rows of each run refer to each value. Only the runs whose write passed (``h``)
# count; in the order of the names (two writers adding uses of the same values lock their
# rows in one order).
_VALUES_OF_BATCH = """, v AS (
    INSERT INTO flownb_values (name, data, uses)
    SELECT d.name, d.data, u.uses
    FROM (SELECT pg_advisory_xact_lock({lock})) AS l,
        unnest(%(v_name)b::text[], %(v_data)b::text[]) AS d(name, data)
    JOIN (SELECT u.name, sum(u.uses)::bigint AS uses
        FROM unnest(%(u_of)b::text[], %(u_name)b::text[], %(u_uses)b::bigint[])
            AS u(for_run, name, uses)
        WHERE u.for_run IN (SELECT run_id FROM h) GROUP BY u.name) AS u USING (name)
    ORDER BY d.name
    ON CONFLICT (name) DO UPDATE SET uses = flownb_values.uses + excluded.uses
)""".replace("{lock}", str(VALUES_LOCK_KEY))


# New runs, a batch as arrays (one element per run; records as their own arrays). The
# caller leaves out ids repeated within the batch; ids already stored are skipped by
# ON CONFLICT, and the run ids actually inserted come back. ``INSERT_RUNS[True]`` also
# writes the ``refs`` columns and counts the uses of the shared values they name.
def _insert_runs(shares: bool) -> str:
    refs = ", input_refs, graph_refs, meta_refs" if shares else ""
    return f"""
WITH c AS (
    SELECT * FROM unnest(%(run_id)b::text[], %(workflow_id)b::text[], %(status)b::text[],
        %(version)b::bigint[], %(created_at)b::float8[], %(updated_at)b::float8[],
        %(schema_version)b::int[], %(suspended)b::text[], %(input)b::text[],
        %(graph)b::text[], %(meta)b::text[], %(parent_run_id)b::text[]{
        ", %(input_refs)b::text[], %(graph_refs)b::text[], %(meta_refs)b::text[]"
        if shares else ""})
        WITH ORDINALITY AS c(run_id, workflow_id, status, version, created_at, updated_at,
            schema_version, suspended, input, graph, meta, parent_run_id{refs}, ord)
), h AS (
    INSERT INTO flownb_runs (run_id, workflow_id, status, version, created_at, updated_at,
        schema_version, suspended, parent_run_id)
    SELECT run_id, workflow_id, status, version, created_at, updated_at, schema_version,
        suspended, parent_run_id FROM c ORDER BY ord
    ON CONFLICT (run_id) DO NOTHING
    RETURNING run_id
), b AS (
    INSERT INTO flownb_run_bodies (run_id, input, graph{
        ", input_refs, graph_refs" if shares else ""})
    SELECT c.run_id, c.input, c.graph{
        ", c.input_refs, c.graph_refs" if shares else ""} FROM c JOIN h USING (run_id)
), m AS (
    INSERT INTO flownb_run_meta (run_id, meta{", refs" if shares else ""})
    SELECT c.run_id, c.meta{", c.meta_refs" if shares else ""} FROM c JOIN h USING (run_id)
), r AS (
    INSERT INTO flownb_run_records (run_id, kind, key, seq, data{", refs" if shares else ""})
    SELECT k.run_id, k.kind, k.key, k.seq, k.data{", k.refs" if shares else ""}
    FROM unnest(%(r_run_id)b::text[], %(r_kind)b::text[], %(r_key)b::text[],
        %(r_seq)b::bigint[], %(r_data)b::text[]{", %(r_refs)b::text[]" if shares else ""})
        AS k(run_id, kind, key, seq, data{", refs" if shares else ""})
    WHERE k.run_id IN (SELECT run_id FROM h)
){_VALUES_OF_BATCH if shares else ""}
SELECT run_id, pg_notify('flownb_runs', run_id) FROM h"""


INSERT_RUNS = {shares: _insert_runs(shares) for shares in (False, True)}
"""By whether the batch's rows refer to shared values."""


# Updates of distinct runs, a batch as arrays. A change applies only if its run is at the
# expected version; NULL status, suspended or meta leave the stored one. The run ids whose
# check passed come back. A rewritten record or meta row takes its new ``refs`` (NULL in
# the statements of batches without shared values): the trigger lets go of the old ones.
def _update_runs(shares: bool, cache: bool) -> str:
    return f"""
WITH c AS (
    SELECT * FROM unnest(%(run_id)b::text[], %(expected)b::bigint[], %(status)b::text[],
        %(updated_at)b::float8[], %(suspended)b::text[], %(meta)b::text[]{
        ", %(meta_refs)b::text[]" if shares else ""})
        AS c(run_id, expected, status, updated_at, suspended, meta{
        ", meta_refs" if shares else ""})
), h AS (
    UPDATE flownb_runs AS r SET status = coalesce(c.status, r.status),
        updated_at = c.updated_at, suspended = coalesce(c.suspended, r.suspended),
        version = r.version + 1
    FROM c WHERE r.run_id = c.run_id AND r.version = c.expected
    RETURNING r.run_id
), m AS (
    UPDATE flownb_run_meta AS m SET meta = c.meta, refs = {
        "c.meta_refs" if shares else "NULL"}
    FROM c WHERE m.run_id = c.run_id AND c.meta IS NOT NULL
        AND c.run_id IN (SELECT run_id FROM h)
), r AS (
    INSERT INTO flownb_run_records AS old (run_id, kind, key, seq, data{
        ", refs" if shares else ""})
    SELECT k.run_id, k.kind, k.key, k.seq, k.data{", k.refs" if shares else ""}
    FROM unnest(%(r_run_id)b::text[], %(r_kind)b::text[], %(r_key)b::text[],
        %(r_seq)b::bigint[], %(r_data)b::text[]{", %(r_refs)b::text[]" if shares else ""})
        AS k(run_id, kind, key, seq, data{", refs" if shares else ""})
    WHERE k.run_id IN (SELECT run_id FROM h)
    ON CONFLICT (run_id, kind, key) DO UPDATE SET data = excluded.data, refs = {
        "excluded.refs" if shares else "NULL"}
){_VALUES_OF_BATCH if shares else ""}{_CACHE_OF_BATCH if cache else ""}
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
UPDATE_RUNS = {(shares, cache): _update_runs(shares, cache)
               for shares in (False, True) for cache in (False, True)}
"""By whether the batch's rows refer to shared values, and whether it carries step-cache
entries."""

# One run's update, the usual write (a step finished, the next one running): plain
# parameters, no arrays, which PostgreSQL plans and runs faster than ``UPDATE_RUNS`` with
# one element per array (a step of a 100-step chain: about 1.3 commits instead of 2.3).
# ``UPDATE_ONE[n, meta, cache, shares]`` writes ``n`` records (``kind{i}``, ``key{i}``,
# ``seq{i}``, ``data{i}``) and, if ``meta``, the meta; the same version check; the run id
# comes back if it passed. With ``cache``, it also adds the change's step-cache entries
# (``c_key`` ... arrays) if it passed; with ``shares``, the records' and the meta's
# ``refs`` (``refs{i}``, ``meta_refs``) and the uses of the shared values they name
# (``v_name``, ``v_data``, ``v_uses``: each value once, in the order of the names). The
# statements without ``shares`` are those of layout 2 but for ``refs = NULL`` where a row
# is rewritten. Assembled here from constant text for n = 0 .. UPDATE_ONE_RECORDS (more
# records go through ``UPDATE_RUNS``).
UPDATE_ONE_RECORDS = 4


def _update_one(records: int, meta: bool, cache: bool, shares: bool) -> str:
    parts = ["""WITH h AS (
    UPDATE flownb_runs SET status = coalesce(%(status)s, status), updated_at = %(updated_at)s,
        suspended = coalesce(%(suspended)s, suspended), version = version + 1
    WHERE run_id = %(run_id)s AND version = %(expected)s
    RETURNING run_id
)"""]
    if meta:
        refs = "%(meta_refs)s::text" if shares else "NULL"
        parts.append(f""", m AS (
    UPDATE flownb_run_meta AS m SET meta = %(meta)s, refs = {refs}
    FROM h WHERE m.run_id = h.run_id
)""")
    if records:
        if shares:
            rows = ", ".join(f"(%(kind{i})s, %(key{i})s, %(seq{i})s::bigint, %(data{i})s, "
                             f"%(refs{i})s::text)" for i in range(records))
            parts.append(f""", r AS (
    INSERT INTO flownb_run_records (run_id, kind, key, seq, data, refs)
    SELECT h.run_id, k.kind, k.key, k.seq, k.data, k.refs
    FROM h, (VALUES {rows}) AS k(kind, key, seq, data, refs)
    ON CONFLICT (run_id, kind, key) DO UPDATE SET data = excluded.data, refs = excluded.refs
)""")
        else:
            rows = ", ".join(f"(%(kind{i})s, %(key{i})s, %(seq{i})s::bigint, %(data{i})s)"
                             for i in range(records))
            parts.append(f""", r AS (
    INSERT INTO flownb_run_records (run_id, kind, key, seq, data)
    SELECT h.run_id, k.kind, k.key, k.seq, k.data
    FROM h, (VALUES {rows}) AS k(kind, key, seq, data)
    ON CONFLICT (run_id, kind, key) DO UPDATE SET data = excluded.data, refs = NULL
)""")
    if shares:
        parts.append(""", v AS (
    INSERT INTO flownb_values (name, data, uses)
    SELECT s.name, s.data, s.uses
    FROM h, (SELECT pg_advisory_xact_lock({lock})) AS l,
        unnest(%(v_name)b::text[], %(v_data)b::text[], %(v_uses)b::bigint[])
        AS s(name, data, uses)
    ORDER BY s.name
    ON CONFLICT (name) DO UPDATE SET uses = flownb_values.uses + excluded.uses
)""".replace("{lock}", str(VALUES_LOCK_KEY)))
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


UPDATE_ONE = {(n, meta, cache, shares): _update_one(n, meta, cache, shares)
              for n in range(UPDATE_ONE_RECORDS + 1) for meta in (False, True)
              for cache in (False, True) for shares in (False, True)}

# Watchers' channel (``LISTEN``): every write of a run notifies it with the run id.
CHANNEL = "flownb_runs"
LISTEN = "LISTEN flownb_runs"

SELECT_VERSIONS = "SELECT run_id, version FROM flownb_runs WHERE run_id = ANY(%b::text[])"

# A run's header row, then its records in order, then the shared values they refer to, in
# one statement (one snapshot: every value a row names is there, its uses counted). The
# columns are (part, seq, kind, key, data, refs, workflow_id, status, version,
# created_at, updated_at, schema_version, input, graph, meta, input_refs, graph_refs,
# meta_refs): the header (part 0) fills the last twelve, a record (part 1) the first six,
# a shared value (part 2) its name as ``key`` and its text as ``data``.
SELECT_SNAPSHOT = """
WITH s AS (
    SELECT 0 AS part, 0::bigint AS seq, NULL::text AS kind, NULL::text AS key,
        NULL::text AS data, NULL::text AS refs, r.workflow_id, r.status, r.version,
        r.created_at, r.updated_at, r.schema_version, b.input, b.graph, m.meta,
        b.input_refs, b.graph_refs, m.refs AS meta_refs
        FROM flownb_runs r JOIN flownb_run_bodies b USING (run_id)
        JOIN flownb_run_meta m USING (run_id)
        WHERE r.run_id = %(run_id)s
    UNION ALL
    SELECT 1, seq, kind, key, data, refs, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL
        FROM flownb_run_records WHERE run_id = %(run_id)s
)
SELECT * FROM s
UNION ALL
SELECT 2, 0, NULL, v.name, v.data, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL
    FROM flownb_values v WHERE v.name IN (
        SELECT json_object_keys(x.refs::json)
        FROM s, unnest(ARRAY[s.refs, s.input_refs, s.graph_refs, s.meta_refs]) AS x(refs)
        WHERE x.refs IS NOT NULL)
ORDER BY 1, 2"""

# The records, meta and bodies first: their triggers let go of the shared values they
# held when the statement has done the rest.
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
