"""Every SQL statement of the metrics service, named, with `$n` parameters."""

from __future__ import annotations

from services.metrics.core.counters import COUNTERS

_COLUMNS = ", ".join(COUNTERS)
_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTERS)


# Only ids not seen before come back: those events are new and are counted in this transaction.
RECORD_EVENT_IDS = """
INSERT INTO processed_events (event_id, occurred_at)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

# A batch's counter rows per (hour, unit, procedure) are copied (binary COPY) into a session's temporary table;
# one statement adds them to the hourly table and their sums per (Vietnam day, unit) and per (hour, unit) to the
# rollups snapshots read. Each insert takes its rows in key order: replicas lock rows alike, no deadlock.
# Its counters are integers (a batch's are small): sum(integer) adds in int8, sum(bigint) in numeric, at several
# times the cost over 27 columns; and its rows carry their Vietnam day, computed once per hour in Python.
COUNT_BATCH = "count_batch"
COUNT_BATCH_COLUMNS = ("bucket", "day", "unit_code", "procedure_code", *COUNTERS)
CREATE_COUNT_BATCH = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {COUNT_BATCH} (
    bucket timestamptz NOT NULL, day date NOT NULL, unit_code text NOT NULL, procedure_code text NOT NULL,
    {", ".join(f"{c} integer NOT NULL" for c in COUNTERS)}
) ON COMMIT DELETE ROWS
"""
_BATCH_SUMS = ", ".join(f"sum({c}) AS {c}" for c in COUNTERS)


def _additions(table: str) -> str:
    return ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTERS)


ADD_COUNT_BATCH = f"""
WITH hourly AS (
    INSERT INTO kpi_counts_hourly (bucket, unit_code, procedure_code, {_COLUMNS})
    SELECT bucket, unit_code, procedure_code, {_COLUMNS} FROM {COUNT_BATCH} ORDER BY bucket, unit_code, procedure_code
    ON CONFLICT (bucket, unit_code, procedure_code) DO UPDATE SET {_additions("kpi_counts_hourly")}
), daily AS (
    INSERT INTO kpi_counts_daily (day, unit_code, {_COLUMNS})
    SELECT day, unit_code, {_BATCH_SUMS} FROM {COUNT_BATCH}
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (day, unit_code) DO UPDATE SET {_additions("kpi_counts_daily")}
), unit_hours AS (
    SELECT bucket, unit_code, {_BATCH_SUMS} FROM {COUNT_BATCH} GROUP BY 1, 2
), unit_hourly AS (
    INSERT INTO kpi_counts_unit_hourly (bucket, unit_code, {_COLUMNS})
    SELECT bucket, unit_code, {_COLUMNS} FROM unit_hours ORDER BY 1, 2
    ON CONFLICT (bucket, unit_code) DO UPDATE SET {_additions("kpi_counts_unit_hourly")}
)
INSERT INTO snapshot_deltas (bucket, unit_code, {_COLUMNS}) SELECT bucket, unit_code, {_COLUMNS} FROM unit_hours
"""  # noqa: S608 (table and column names are constants)
# The last insert leaves the same unit-hour sums for the snapshot leader (0012), which adds them to its windows.

# The newest online use per (unit, procedure); what moved is left for the snapshot leader too (0012).
TOUCH_PROCEDURE_ONLINE = """
WITH touched AS (
    INSERT INTO procedure_online AS p (unit_code, procedure_code, last_online_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
    ON CONFLICT (unit_code, procedure_code)
    DO UPDATE SET last_online_at = greatest(p.last_online_at, excluded.last_online_at)
    RETURNING unit_code, procedure_code, last_online_at
)
INSERT INTO usage_deltas (unit_code, procedure_code, last_online_at) SELECT * FROM touched
"""

TOUCH_SOURCES = """
INSERT INTO source_activity AS s (source, last_occurred_at, last_processed_at, events)
SELECT source, occurred, now(), n FROM unnest($1::text[], $2::timestamptz[], $3::bigint[]) AS t(source, occurred, n)
ON CONFLICT (source) DO UPDATE SET
    last_occurred_at = greatest(s.last_occurred_at, excluded.last_occurred_at),
    last_processed_at = now(),
    events = s.events + excluded.events
"""

# The batch's units ($1) are touched, and those whose catalogue it changed ($3) are marked for the snapshot leader
# (0011), which re-reads the usage of the scopes above them; in the same transaction as the counts.
TOUCH_UNITS = """
WITH activity AS (
    INSERT INTO unit_activity AS u (unit_code, last_occurred_at)
    SELECT * FROM unnest($1::text[], $2::timestamptz[])
    ON CONFLICT (unit_code) DO UPDATE SET last_occurred_at = greatest(u.last_occurred_at, excluded.last_occurred_at)
)
INSERT INTO snapshot_changes (unit_code) SELECT unnest($3::text[])
ON CONFLICT (unit_code) DO UPDATE SET unit_code = excluded.unit_code
"""
# The update (not DO NOTHING) locks a mark that already exists until the batch commits: the leader can't take it
# and read the usage while the batch's rows are still invisible to it.

# The leader takes the marks before it reads: a batch still open keeps its marks locked, and the leader waits for
# it (a batch that marks later leaves a mark for the next round). Locked in code order, as the batches lock them:
# no deadlock.
CLAIM_CHANGED_UNITS = """
DELETE FROM snapshot_changes
WHERE unit_code IN (SELECT unit_code FROM snapshot_changes ORDER BY unit_code FOR UPDATE)
RETURNING unit_code
"""

# The leader takes what batches added since its last round, inside its repeatable-read view: exactly the rows of the
# batches that view sees (an open batch's rows are invisible, left for the next round).
CLAIM_DELTAS = f"DELETE FROM snapshot_deltas RETURNING unit_code, bucket, {_COLUMNS}"  # noqa: S608
CLAIM_USAGE_DELTAS = "DELETE FROM usage_deltas RETURNING unit_code, procedure_code, last_online_at"

PUBLISH_PROCEDURES = """
INSERT INTO procedure_catalogue (unit_code, procedure_code, service_level, origin, updated_at)
SELECT u, p, l, 'event', now() FROM unnest($1::text[], $2::text[], $3::text[]) AS t(u, p, l)
ON CONFLICT (unit_code, procedure_code) DO UPDATE SET
    service_level = excluded.service_level, origin = 'event', updated_at = now()
"""


# Per unit (not yet rolled up to ancestors): whole days from the daily table, partial days from the hourly one.
WINDOW_TOTALS = f"""
SELECT unit_code, {_SUMS} FROM (
    SELECT unit_code, {_COLUMNS} FROM kpi_counts_daily WHERE day BETWEEN $1 AND $2
    UNION ALL
    SELECT unit_code, {_COLUMNS} FROM kpi_counts_unit_hourly
    WHERE (bucket >= $3 AND bucket < $4) OR (bucket >= $5 AND bucket < $6)
) parts
GROUP BY unit_code
"""  # noqa: S608 (column names are constants)


def _usage(*, some_scopes: bool) -> str:
    only = "WHERE c.ancestor_code = ANY($1::text[])" if some_scopes else ""
    offline = "AND" if some_scopes else "WHERE"
    return f"""
WITH offered AS (
    SELECT DISTINCT c.ancestor_code AS unit_code, pc.procedure_code
    FROM procedure_catalogue pc
    JOIN unit_closure c ON c.descendant_code = pc.unit_code
    {only} {offline} pc.service_level <> 'offline'
), used AS (
    SELECT c.ancestor_code AS unit_code, p.procedure_code, max(p.last_online_at) AS last_online_at
    FROM procedure_online p
    JOIN unit_closure c ON c.descendant_code = p.unit_code
    {only}
    GROUP BY 1, 2
)
SELECT o.unit_code, array_agg(o.procedure_code) AS offered, array_agg(u.last_online_at) AS last_online
FROM offered o LEFT JOIN used u USING (unit_code, procedure_code)
GROUP BY o.unit_code
"""  # noqa: S608 (fixed fragments)


# For each unit and its subtree: the procedures offered online, and the newest online use of each (null: none; a
# window counts those used since its start); `_OF` only for the scopes in $1.
USAGE = _usage(some_scopes=False)
USAGE_OF = _usage(some_scopes=True)

CLOSURE = "SELECT ancestor_code, descendant_code FROM unit_closure"

UNITS = "SELECT code, level FROM units"

UNIT_DIRECTORY = "SELECT code, name, level, valid_from, valid_to FROM units"

# A unit code is known if unit_closure lists it as a descendant: every unit of the tree and every alias (the
# reference-data sync maps each alias to its unit's ancestors), so a code the tree gains later rolls up at once.
# Before the first sync (an empty closure) nothing is called unknown.
UNKNOWN_AMONG = """
SELECT code FROM unnest($1::text[]) AS n(code)
WHERE EXISTS (SELECT 1 FROM unit_closure)
  AND NOT EXISTS (SELECT 1 FROM unit_closure c WHERE c.descendant_code = n.code)
"""

# Counted unit codes the tree lacks, most recently seen first (at most $1), with how many there are in all.
UNKNOWN_UNITS = """
SELECT a.unit_code, a.last_occurred_at, count(*) OVER () AS total
FROM unit_activity a
WHERE EXISTS (SELECT 1 FROM unit_closure)
  AND NOT EXISTS (SELECT 1 FROM unit_closure c WHERE c.descendant_code = a.unit_code)
ORDER BY a.last_occurred_at DESC, a.unit_code
LIMIT $1
"""

UPSERT_SNAPSHOTS = """
INSERT INTO kpi_snapshot (kpi, window_name, unit_code, unit_level, numerator, denominator, ratio,
                          window_start, window_end, computed_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[],
                     $7::float8[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
ON CONFLICT (kpi, window_name, unit_code) DO UPDATE SET
    unit_level = excluded.unit_level, numerator = excluded.numerator, denominator = excluded.denominator,
    ratio = excluded.ratio, window_start = excluded.window_start, window_end = excluded.window_end,
    computed_at = excluded.computed_at
"""

SELECT_SNAPSHOTS = """
SELECT kpi, window_name, unit_code, unit_level, numerator, denominator, ratio, window_start, window_end, computed_at
FROM kpi_snapshot
WHERE computed_at >= coalesce($1, '-infinity'::timestamptz)
"""

SOURCE_ACTIVITY = "SELECT source, last_occurred_at, last_processed_at, events FROM source_activity"

PRUNE_BUCKETS = (
    "DELETE FROM kpi_counts_hourly WHERE bucket < $1",
    "DELETE FROM kpi_counts_unit_hourly WHERE bucket < $1",
    "DELETE FROM kpi_counts_daily WHERE day < ($1 AT TIME ZONE 'Asia/Ho_Chi_Minh')::date",
    "DELETE FROM procedure_online WHERE last_online_at < $1",
)
PRUNE_EVENT_IDS = "DELETE FROM processed_events WHERE processed_at < $1"

# Only one replica computes snapshots at a time; the others read the table.
SNAPSHOT_LEADER_LOCK = 0x4B504953  # "KPIS"
TRY_LEADER = "SELECT pg_try_advisory_lock($1)"
