-- The read model gains the live backlog (docs/read-model.md): what alerts' backlog rules evaluate on its timer.
-- Built on 0006's aggregates, never a scan of the dossiers: per unit, in progress and paused from backlog_units;
-- overdue at the moment of the read = the running dossiers of the due hours wholly before now's (backlog_due),
-- plus those of dossier_state due earlier within now's hour (its partial index on running_due). The same
-- arithmetic as the metrics service's GET /v1/backlog; both roll up through unit_closure.

-- Every unit of the tree (zeros included, so an emptied backlog reads as 0 rather than vanishing) and every
-- unit code the tree lacks that holds dossiers (level 'unknown'), each with its descendants and predecessors.
-- `now()` is the start of the reading transaction: overdue-ness moves with the clock, not only with events.
CREATE VIEW read_model.backlog_current AS
WITH own AS (
    SELECT unit_code, in_progress, paused, 0::bigint AS overdue
    FROM backlog_units
    UNION ALL
    SELECT unit_code, 0, 0, running
    FROM backlog_due
    WHERE due_hour < date_trunc('hour', now(), 'UTC')
    UNION ALL
    SELECT unit_code, 0, 0, 1
    FROM dossier_state
    WHERE running_due >= date_trunc('hour', now(), 'UTC') AND running_due < now()
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
