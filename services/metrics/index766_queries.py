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

# Per scope (a unit with its subtree and predecessors through unit_closure; a code the tree lacks as itself), the
# distinct-procedure inputs over the buckets [$1, $2): procedures with a fee-bearing reception or a payment, of those
# with an online payment, procedures used online that the scope's catalogue offers online, and procedures offered
# online. Counted in PostgreSQL: at 10,000 units the catalogue alone is ~360k (unit, procedure) rows, which took
# 1.4 s to decode and 1 s to roll up as sets in Python, every refresh and period.
DISTINCT_PROCEDURES = """
WITH procedures AS (
    SELECT unit_code, procedure_code,
        sum(received_fee_bearing) > 0 OR sum(paid) > 0 AS fee_bearing,
        sum(paid_online) > 0 AS paid_online,
        sum(received_online) > 0 AS used_online
    FROM kpi_counts_hourly WHERE bucket >= $1 AND bucket < $2 AND procedure_code <> ''
    GROUP BY unit_code, procedure_code
    HAVING sum(received_fee_bearing) > 0 OR sum(paid) > 0 OR sum(received_online) > 0
), marked AS (
    SELECT coalesce(c.ancestor_code, p.unit_code) AS scope, p.procedure_code,
        bool_or(p.fee_bearing) AS fee, bool_or(p.fee_bearing AND p.paid_online) AS fee_paid_online,
        bool_or(p.used_online) AS used_online
    FROM procedures p LEFT JOIN unit_closure c ON c.descendant_code = p.unit_code
    GROUP BY 1, 2
), offered AS (
    SELECT DISTINCT coalesce(c.ancestor_code, pc.unit_code) AS scope, pc.procedure_code
    FROM procedure_catalogue pc LEFT JOIN unit_closure c ON c.descendant_code = pc.unit_code
    WHERE pc.service_level <> 'offline'
)
SELECT scope AS unit_code,
    count(*) FILTER (WHERE m.fee) AS fee_procedures,
    count(*) FILTER (WHERE m.fee_paid_online) AS fee_procedures_paid_online,
    count(*) FILTER (WHERE m.used_online AND o.procedure_code IS NOT NULL) AS procedures_used_online,
    count(o.procedure_code) AS procedures_offered_online
FROM marked m FULL JOIN offered o USING (scope, procedure_code)
GROUP BY scope
"""
DISTINCT_INPUTS = ("fee_procedures", "fee_procedures_paid_online", "procedures_used_online",
                   "procedures_offered_online")  # fmt: skip

CLOSURE = "SELECT ancestor_code, descendant_code FROM unit_closure"

UNITS = "SELECT code, name, level, valid_from, valid_to FROM units"
