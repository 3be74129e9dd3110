"""Every SQL statement of the alerts service, named, with `$n` parameters."""

from __future__ import annotations

_STATE_COLUMNS = """rule, subject, status, since, fired_at, episode, value, numerator, denominator, observed_at,
    last_event_at, target, last_notified_at, notified_count, severity, labels, annotations"""

SELECT_STATES = f"SELECT alert_id, {_STATE_COLUMNS}, version FROM alert_state"  # noqa: S608 (constant columns)
SELECT_STATE = SELECT_STATES + " WHERE alert_id = $1"

# Compare-and-set: a row is created once (version 1) and only updated from the version it was read at.
INSERT_STATE = f"""
INSERT INTO alert_state (alert_id, {_STATE_COLUMNS}, version, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 1, $19)
ON CONFLICT (alert_id) DO NOTHING
RETURNING version
"""  # noqa: S608 (constant columns)

UPDATE_STATE = """
UPDATE alert_state SET rule = $2, subject = $3, status = $4, since = $5, fired_at = $6, episode = $7, value = $8,
    numerator = $9, denominator = $10, observed_at = $11, last_event_at = $12, target = $13,
    last_notified_at = $14, notified_count = $15, severity = $16, labels = $17, annotations = $18,
    version = version + 1, updated_at = $19
WHERE alert_id = $1 AND version = $20
RETURNING version
"""

INSERT_HISTORY = """
INSERT INTO alert_history (alert_id, rule, subject, from_status, to_status, at, episode, value, numerator,
                           denominator, target, severity, labels, annotations, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
"""

INSERT_OUTBOX = """
INSERT INTO notification_outbox (notification_id, receiver, alert_id, kind, payload, next_attempt_at, created_at,
                                 status)
VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
ON CONFLICT (notification_id, receiver) DO NOTHING
"""

# Oldest due rows first, at most one in flight per (alert, receiver) so a receiver sees an alert's notifications
# in order; claiming pushes next_attempt_at out by the lease, so a crashed delivery is retried after it.
CLAIM_OUTBOX = """
WITH due AS (
    SELECT o.id FROM notification_outbox o
    WHERE o.status = 'pending' AND o.next_attempt_at <= $1
      AND NOT EXISTS (SELECT 1 FROM notification_outbox e
                      WHERE e.alert_id = o.alert_id AND e.receiver = o.receiver AND e.status = 'pending'
                        AND e.id < o.id)
    ORDER BY o.id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE notification_outbox o SET attempts = o.attempts + 1, next_attempt_at = $3
FROM due WHERE o.id = due.id
RETURNING o.id, o.notification_id, o.receiver, o.alert_id, o.kind, o.payload, o.attempts
"""

MARK_DELIVERED = """
UPDATE notification_outbox SET status = 'delivered', delivered_at = $2, last_error = NULL
WHERE id = $1 AND status = 'pending'
"""
MARK_RETRY = "UPDATE notification_outbox SET next_attempt_at = $2, last_error = $3 WHERE id = $1 AND status = 'pending'"
MARK_FAILED = "UPDATE notification_outbox SET status = 'failed', last_error = $2 WHERE id = $1 AND status = 'pending'"
PRUNE_OUTBOX = """
DELETE FROM notification_outbox
WHERE (status = 'delivered' AND delivered_at < $1) OR (status = 'grouped' AND created_at < $1)
"""
OUTBOX_BACKLOG = """
SELECT receiver, status, count(*) AS n FROM notification_outbox WHERE status IN ('queued', 'pending', 'failed')
GROUP BY receiver, status
"""

# Grouping: queued rows (oldest first) become members of one group row, or are released to be sent alone; both
# only from `queued`, so two replicas cannot group the same rows twice.
SELECT_QUEUED = """
SELECT id, notification_id, receiver, alert_id, kind, payload, created_at FROM notification_outbox
WHERE status = 'queued' ORDER BY id
"""
GROUP_MEMBERS = """
UPDATE notification_outbox SET status = 'grouped', group_id = $2 WHERE id = ANY($1::bigint[]) AND status = 'queued'
"""
RELEASE_QUEUED = """
UPDATE notification_outbox SET status = 'pending', next_attempt_at = $2, alert_id = coalesce($3, alert_id)
WHERE id = ANY($1::bigint[]) AND status = 'queued'
"""

SELECT_LAST_DIGEST = "SELECT slot, entries FROM alert_digest WHERE receiver = $1 ORDER BY slot DESC LIMIT 1"
INSERT_DIGEST = """
INSERT INTO alert_digest (receiver, slot, notification_id, entries, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (receiver, slot) DO NOTHING
RETURNING slot
"""

INSERT_SILENCE = """
INSERT INTO silences (id, matchers, starts_at, ends_at, author, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
SELECT_SILENCES = """
SELECT id, matchers, starts_at, ends_at, author, comment FROM silences
WHERE deleted_at IS NULL AND ends_at > $1 ORDER BY starts_at, id
"""
DELETE_SILENCE = "UPDATE silences SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL AND ends_at > $2"

SELECT_ACTIVE = SELECT_STATES + " WHERE status IN ('pending', 'firing') ORDER BY since, alert_id"
SELECT_HISTORY = """
SELECT id, alert_id, rule, subject, from_status, to_status, at, episode, value, numerator, denominator, target,
       severity, labels, annotations, note
FROM alert_history
WHERE ($1::text IS NULL OR alert_id = $1) AND ($2::text IS NULL OR rule = $2) AND ($3::bigint IS NULL OR id < $3)
ORDER BY id DESC
LIMIT $4
"""

# The metrics service's read model (docs/read-model.md): alerts reads none of its tables directly.
SELECT_KPI_CURRENT = """
SELECT s.kpi, s.window_name, s.unit_code, s.unit_level, s.numerator, s.denominator, s.ratio, s.computed_at
FROM read_model.kpi_current s
JOIN unnest($1::text[], $2::text[]) AS w(kpi, window_name) USING (kpi, window_name)
"""
SELECT_UNITS = "SELECT code, name, level FROM read_model.units"
SELECT_SOURCE_ACTIVITY = "SELECT source, last_occurred_at FROM read_model.source_activity"
SELECT_UNIT_ACTIVITY = "SELECT unit_code, last_occurred_at FROM read_model.unit_activity"
SELECT_BACKLOG = "SELECT unit_code, unit_level, in_progress, overdue, paused, as_of FROM read_model.backlog_current"
