"""Every SQL statement of the metrics service, named, with `$n` parameters."""

from __future__ import annotations

from services.metrics.core.counters import COUNTERS

_COLUMNS = ", ".join(COUNTERS)
_UNNEST_COUNTERS = ", ".join(f"${i + 4}::bigint[]" for i in range(len(COUNTERS)))
_ADD_EXCLUDED = ", ".join(f"{c} = kpi_counts_hourly.{c} + excluded.{c}" for c in COUNTERS)
_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTERS)

# Only ids not seen before come back: those events are new and are counted in this transaction.
RECORD_EVENT_IDS = """
INSERT INTO processed_events (event_id, occurred_at)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

ADD_COUNTS = f"""
INSERT INTO kpi_counts_hourly (bucket, unit_code, procedure_code, {_COLUMNS})
SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], {_UNNEST_COUNTERS})
ON CONFLICT (bucket, unit_code, procedure_code) DO UPDATE SET {_ADD_EXCLUDED}
"""  # noqa: S608 (column names are constants)

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

# A unit's KPI includes its descendants; an event for a unit missing from the tree still counts, as its own scope.
WINDOW_TOTALS = f"""
SELECT coalesce(c.ancestor_code, k.unit_code) AS unit_code, {_SUMS}
FROM kpi_counts_hourly k
LEFT JOIN unit_closure c ON c.descendant_code = k.unit_code
WHERE k.bucket BETWEEN $1 AND $2
GROUP BY 1
"""  # noqa: S608 (column names are constants)

USAGE = """
WITH offered AS (
    SELECT DISTINCT c.ancestor_code AS unit_code, pc.procedure_code
    FROM procedure_catalogue pc
    JOIN unit_closure c ON c.descendant_code = pc.unit_code
    WHERE pc.service_level <> 'offline'
), used AS (
    SELECT DISTINCT coalesce(c.ancestor_code, k.unit_code) AS unit_code, k.procedure_code
    FROM kpi_counts_hourly k
    LEFT JOIN unit_closure c ON c.descendant_code = k.unit_code
    WHERE k.bucket BETWEEN $1 AND $2 AND k.received_online > 0
)
SELECT o.unit_code, count(u.procedure_code) AS numerator, count(*) AS denominator
FROM offered o LEFT JOIN used u USING (unit_code, procedure_code)
GROUP BY o.unit_code
"""

UNITS = "SELECT code, level FROM units"

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

PRUNE_BUCKETS = "DELETE FROM kpi_counts_hourly WHERE bucket < $1"
PRUNE_EVENT_IDS = "DELETE FROM processed_events WHERE processed_at < $1"

# Only one replica computes snapshots at a time; the others read the table.
SNAPSHOT_LEADER_LOCK = 0x4B504953  # "KPIS"
TRY_LEADER = "SELECT pg_try_advisory_lock($1)"
