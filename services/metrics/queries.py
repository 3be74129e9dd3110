"""Every SQL statement of the metrics service, named, with `$n` parameters."""

from __future__ import annotations

from services.metrics.core.counters import COUNTERS

_COLUMNS = ", ".join(COUNTERS)
_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTERS)


def _add_counts(table: str, keys: tuple[tuple[str, str], ...]) -> str:
    """Upsert that adds a batch's counts to `table`, keyed by `keys` ((column, array type), ...)."""
    key_columns = ", ".join(k for k, _ in keys)
    arrays = [f"${i + 1}::{t}[]" for i, (_, t) in enumerate(keys)]
    arrays += [f"${i + 1 + len(keys)}::bigint[]" for i in range(len(COUNTERS))]
    additions = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTERS)
    return (
        f"INSERT INTO {table} ({key_columns}, {_COLUMNS}) SELECT * FROM unnest({', '.join(arrays)}) "  # noqa: S608
        f"ON CONFLICT ({key_columns}) DO UPDATE SET {additions}"
    )


# Only ids not seen before come back: those events are new and are counted in this transaction.
RECORD_EVENT_IDS = """
INSERT INTO processed_events (event_id, occurred_at)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

ADD_COUNTS = _add_counts(
    "kpi_counts_hourly", (("bucket", "timestamptz"), ("unit_code", "text"), ("procedure_code", "text"))
)
ADD_DAILY = _add_counts("kpi_counts_daily", (("day", "date"), ("unit_code", "text")))
ADD_UNIT_HOURLY = _add_counts("kpi_counts_unit_hourly", (("bucket", "timestamptz"), ("unit_code", "text")))

TOUCH_PROCEDURE_ONLINE = """
INSERT INTO procedure_online AS p (unit_code, procedure_code, last_online_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
ON CONFLICT (unit_code, procedure_code)
DO UPDATE SET last_online_at = greatest(p.last_online_at, excluded.last_online_at)
"""

TOUCH_SOURCES = """
INSERT INTO source_activity AS s (source, last_occurred_at, last_processed_at, events)
SELECT source, occurred, now(), n FROM unnest($1::text[], $2::timestamptz[], $3::bigint[]) AS t(source, occurred, n)
ON CONFLICT (source) DO UPDATE SET
    last_occurred_at = greatest(s.last_occurred_at, excluded.last_occurred_at),
    last_processed_at = now(),
    events = s.events + excluded.events
"""

TOUCH_UNITS = """
INSERT INTO unit_activity AS u (unit_code, last_occurred_at)
SELECT * FROM unnest($1::text[], $2::timestamptz[])
ON CONFLICT (unit_code) DO UPDATE SET last_occurred_at = greatest(u.last_occurred_at, excluded.last_occurred_at)
"""

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

# For each unit and its subtree: procedures offered online, and of those, used online since each window start.
USAGE = """
WITH offered AS (
    SELECT DISTINCT c.ancestor_code AS unit_code, pc.procedure_code
    FROM procedure_catalogue pc
    JOIN unit_closure c ON c.descendant_code = pc.unit_code
    WHERE pc.service_level <> 'offline'
), used AS (
    SELECT c.ancestor_code AS unit_code, p.procedure_code, max(p.last_online_at) AS last_online_at
    FROM procedure_online p
    JOIN unit_closure c ON c.descendant_code = p.unit_code
    GROUP BY 1, 2
)
SELECT o.unit_code, count(*) AS denominator, array_agg(u.last_online_at) FILTER (WHERE u.last_online_at IS NOT NULL)
    AS last_online
FROM offered o LEFT JOIN used u USING (unit_code, procedure_code)
GROUP BY o.unit_code
"""

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
