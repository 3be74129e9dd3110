"""The SQL of the dossier lifecycle: per-dossier state, its delta-maintained aggregates, and their reads."""

from __future__ import annotations

STATE_COLUMNS = ("dossier_id", "unit_code", "procedure_code", "received_at", "due_at", "completion_due_at",
                 "fee_bearing", "completed_at", "outcome", "pauses", "resumes", "supplements", "paid_at",
                 "payment_channel", "in_progress", "paused", "running_due")  # fmt: skip
"""dossier_state's columns written from a merged state and its footprint (`dossiers.state_row`, in order)."""
_STATE = ", ".join(STATE_COLUMNS)

# Locked in id order: replicas overlapping after a rebalance take row locks in the same order.
LOCK_STATES = f"""
SELECT {_STATE} FROM dossier_state WHERE dossier_id = ANY($1::text[]) ORDER BY dossier_id FOR UPDATE
"""  # noqa: S608 (column names are constants)

_TYPES = ("text", "text", "text", "timestamptz", "timestamptz", "timestamptz", "boolean", "timestamptz", "text",
          "timestamptz[]", "timestamptz[]", "integer", "timestamptz", "text", "boolean", "boolean",
          "timestamptz")  # fmt: skip
_RECORD = ", ".join(f"{c} {t}" for c, t in zip(STATE_COLUMNS, _TYPES, strict=True))

# The batch's merged states are copied (binary COPY: no text parsing) into a session's temporary table, each
# flagged `stored` if LOCK_STATES found (and locked) its row. Those rows are overwritten; a dossier first seen
# here is inserted, unless another transaction inserted it meanwhile: that row is left alone (and not returned),
# to be locked and merged onto again.
BATCH_TABLE = "dossier_batch"
CREATE_BATCH_TABLE = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {BATCH_TABLE} ({_RECORD}, stored boolean NOT NULL) ON COMMIT DELETE ROWS
"""
BATCH_COLUMNS = (*STATE_COLUMNS, "stored")
CLEAR_BATCH_TABLE = f"TRUNCATE {BATCH_TABLE}"
UPSERT_STATES = f"""
WITH updated AS (
    UPDATE dossier_state AS d SET {", ".join(f"{c} = v.{c}" for c in STATE_COLUMNS[1:])}, touched_at = now()
    FROM {BATCH_TABLE} AS v WHERE v.stored AND d.dossier_id = v.dossier_id
    RETURNING d.dossier_id
),
inserted AS (
    INSERT INTO dossier_state ({_STATE}, touched_at) SELECT {_STATE}, now() FROM {BATCH_TABLE} WHERE NOT stored
    ON CONFLICT (dossier_id) DO NOTHING
    RETURNING dossier_id
)
SELECT dossier_id FROM updated UNION ALL SELECT dossier_id FROM inserted
"""  # noqa: S608 (column names are constants)

ADD_BACKLOG_UNITS = """
INSERT INTO backlog_units AS b (unit_code, in_progress, paused)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
ON CONFLICT (unit_code) DO UPDATE SET in_progress = b.in_progress + excluded.in_progress,
    paused = b.paused + excluded.paused
"""

ADD_BACKLOG_DUE = """
INSERT INTO backlog_due AS b (unit_code, due_day, running)
SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[])
ON CONFLICT (unit_code, due_day) DO UPDATE SET running = b.running + excluded.running
"""

ADD_PROCESSING = """
INSERT INTO processing_time_daily AS p (unit_code, day, procedure_code, bin, dossiers)
SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::smallint[], $5::bigint[])
ON CONFLICT (unit_code, day, procedure_code, bin) DO UPDATE SET dossiers = p.dossiers + excluded.dossiers
"""

UNITS = "SELECT code, name, level FROM units"

BACKLOG_PER_UNIT = "SELECT unit_code, in_progress, paused FROM backlog_units WHERE in_progress <> 0 OR paused <> 0"

# Running dossiers due on Vietnam days before today ($1): one row per (unit, past due day) still holding some.
OVERDUE_BUCKETS = """
SELECT unit_code, sum(running)::bigint AS overdue FROM backlog_due WHERE due_day < $1
GROUP BY unit_code HAVING sum(running) <> 0
"""

# ... and those due earlier today (from $1, today's Vietnam midnight, to now), counted exactly (partial index on
# running_due).
OVERDUE_TODAY = """
SELECT unit_code, count(*)::bigint AS overdue FROM dossier_state WHERE running_due >= $1 AND running_due < $2
GROUP BY unit_code
"""

_SUBTREE = "(SELECT descendant_code FROM unit_closure WHERE ancestor_code = $1 UNION SELECT $1)"

OLDEST_OVERDUE = f"""
SELECT dossier_id, procedure_code, unit_code, running_due AS due_at, pauses, resumes
FROM dossier_state WHERE unit_code IN {_SUBTREE} AND running_due < $2
ORDER BY running_due, dossier_id LIMIT $3
"""  # noqa: S608

PROCESSING_HISTOGRAM = f"""
SELECT bin, sum(dossiers)::bigint AS dossiers FROM processing_time_daily
WHERE unit_code IN {_SUBTREE} AND day BETWEEN $2 AND $3 AND ($4::text IS NULL OR procedure_code = $4)
GROUP BY bin HAVING sum(dossiers) > 0
"""  # noqa: S608

# Closed dossiers past retention leave the hot state; what they added to the histogram stays.
PRUNE_CLOSED = "DELETE FROM dossier_state WHERE completed_at < $1 AND touched_at < $1"
PRUNE_PROCESSING = "DELETE FROM processing_time_daily WHERE day < ($1 AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"
PRUNE_EMPTIED = (
    "DELETE FROM backlog_due WHERE running = 0",
    "DELETE FROM backlog_units WHERE in_progress = 0 AND paused = 0",
    "DELETE FROM processing_time_daily WHERE dossiers = 0",
)
