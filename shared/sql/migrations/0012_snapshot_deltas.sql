-- What each counting transaction changed, for the snapshot leader to add to what it holds in memory:
-- * snapshot_deltas: the batch's sums per (unit, hour), inserted beside kpi_counts_unit_hourly; the leader adds each
--   to the windows holding its hour. Before this, a round re-read six windows' totals of every changed unit (a year
--   to date is up to 335 day rows per unit).
-- * usage_deltas: the (unit, procedure) pairs whose newest online use moved, with that newest use; the leader keeps
--   the newest per scope and procedure (a maximum: adding one twice changes nothing). Before this, a round re-read
--   the usage of every scope above a changed unit, and the country's scope aggregated its whole catalogue each time.
-- The leader takes both (DELETE ... RETURNING) in the same repeatable-read view as anything it reads whole: a batch
-- not yet committed is invisible to that view and stays for the next round, so each row is taken exactly once.
--
-- UNLOGGED: after a PostgreSQL crash they are emptied, but every session is gone too, and a leader (new or the same
-- one reconnecting) starts with a full read. A migration adding a counter column adds it to snapshot_deltas too.
CREATE UNLOGGED TABLE snapshot_deltas (LIKE kpi_counts_unit_hourly INCLUDING DEFAULTS);

CREATE UNLOGGED TABLE usage_deltas (
    unit_code text NOT NULL,
    procedure_code text NOT NULL,
    last_online_at timestamptz NOT NULL
);

-- Marks (0011) now stand for a changed catalogue only (usage re-read); rounds no longer read the hour rollup by
-- unit (the trend API still reads the day rollup by unit: that index stays).
DROP INDEX kpi_counts_unit_hourly_unit;
