-- Running dossiers bucketed by their due *day* (Vietnam) instead of their due hour (UTC): a batch of 100,000
-- lifecycle events moved 60,399 (unit, due hour) rows but only a sixth as many (unit, due day) rows, and these
-- row upserts were as costly to the counting transaction as the dossiers' own state writes. Overdue at `now` is
-- still exact: the buckets of the days wholly before today's, plus the dossiers of dossier_state due earlier
-- today (its partial index on running_due).

DROP VIEW read_model.backlog_current;

CREATE TABLE backlog_due_daily (
    unit_code text NOT NULL,
    due_day date NOT NULL,
    running bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (unit_code, due_day)
);
INSERT INTO backlog_due_daily (unit_code, due_day, running)
SELECT unit_code, (due_hour AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, sum(running)
FROM backlog_due
GROUP BY 1, 2
HAVING sum(running) <> 0;
DROP TABLE backlog_due;
ALTER TABLE backlog_due_daily RENAME TO backlog_due;
ALTER INDEX backlog_due_daily_pkey RENAME TO backlog_due_pkey;

-- As 0007's, with day buckets: overdue = running dossiers of the Vietnam days before today's, plus those due
-- earlier today.
CREATE VIEW read_model.backlog_current AS
WITH own AS (
    SELECT unit_code, in_progress, paused, 0::bigint AS overdue
    FROM backlog_units
    UNION ALL
    SELECT unit_code, 0, 0, running
    FROM backlog_due
    WHERE due_day < (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
    UNION ALL
    SELECT unit_code, 0, 0, 1
    FROM dossier_state
    WHERE running_due >= date_trunc('day', now(), 'Asia/Ho_Chi_Minh') AND running_due < now()
),
rolled AS (
    SELECT coalesce(c.ancestor_code, o.unit_code) AS unit_code,
           sum(o.in_progress)::bigint AS in_progress,
           sum(o.overdue)::bigint AS overdue,
           sum(o.paused)::bigint AS paused
    FROM own o
    LEFT JOIN unit_closure c ON c.descendant_code = o.unit_code
    GROUP BY 1
)
SELECT coalesce(u.code, r.unit_code) AS unit_code,
       coalesce(u.level, 'unknown') AS unit_level,
       coalesce(r.in_progress, 0)::bigint AS in_progress,
       coalesce(r.overdue, 0)::bigint AS overdue,
       coalesce(r.paused, 0)::bigint AS paused,
       now() AS as_of
FROM rolled r
FULL JOIN units u ON u.code = r.unit_code;
