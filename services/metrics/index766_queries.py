"""The SQL of the Decision 766 index: its day rows (written in the counting transaction) and its period reads."""

from __future__ import annotations

from services.metrics.core.counters import COUNTERS

_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTERS)

ADD_PROGRESS_DAYS = """
INSERT INTO index766_days AS d (unit_code, day, started, ended, on_time, within_due_delta)
SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
ON CONFLICT (unit_code, day) DO UPDATE SET started = d.started + excluded.started, ended = d.ended + excluded.ended,
    on_time = d.on_time + excluded.on_time, within_due_delta = d.within_due_delta + excluded.within_due_delta
"""

# Per unit (not rolled up) over the Vietnam days $1..$2: in progress when the period began, started in it, completed
# on time in it, and in progress and not yet due at the end of its last day (a prefix sum of the +1/-1 rows).
PROGRESS = """
SELECT unit_code,
    coalesce(sum(started - ended) FILTER (WHERE day < $1), 0)::bigint AS carried,
    coalesce(sum(started) FILTER (WHERE day >= $1), 0)::bigint AS started,
    coalesce(sum(on_time) FILTER (WHERE day >= $1), 0)::bigint AS on_time,
    coalesce(sum(within_due_delta), 0)::bigint AS within_due
FROM index766_days WHERE day <= $2
GROUP BY unit_code
"""

# Per unit, every counter summed over the Vietnam days $1..$2 (the daily rollup: exact for whole days).
COUNTS = f"""
SELECT unit_code, {_SUMS} FROM kpi_counts_daily WHERE day BETWEEN $1 AND $2 GROUP BY unit_code
"""  # noqa: S608 (column names are constants)

# Per unit and procedure over the buckets [$1, $2): whether it had a fee-bearing reception or a payment, an online
# payment, an online reception (the distinct-procedure inputs).
PROCEDURES = """
SELECT unit_code, procedure_code,
    sum(received_fee_bearing) > 0 OR sum(paid) > 0 AS fee_bearing,
    sum(paid_online) > 0 AS paid_online,
    sum(received_online) > 0 AS used_online
FROM kpi_counts_hourly WHERE bucket >= $1 AND bucket < $2 AND procedure_code <> ''
GROUP BY unit_code, procedure_code
HAVING sum(received_fee_bearing) > 0 OR sum(paid) > 0 OR sum(received_online) > 0
"""

OFFERED_ONLINE = "SELECT unit_code, procedure_code FROM procedure_catalogue WHERE service_level <> 'offline'"

CLOSURE = "SELECT ancestor_code, descendant_code FROM unit_closure"

UNITS = "SELECT code, name, level, valid_from, valid_to FROM units"
