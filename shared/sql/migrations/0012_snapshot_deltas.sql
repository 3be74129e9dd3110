-- What each counting transaction added per (unit, hour), for the snapshot leader to add to the windows it holds in
-- memory: the counting statement inserts its batch's unit-hour sums here beside kpi_counts_unit_hourly, and the
-- leader takes them (DELETE ... RETURNING) in the same repeatable-read view as anything it reads whole. A batch not
-- yet committed is invisible to that view and stays for the next round; each row is added exactly once. Before this,
-- a round re-read the changed units' totals of all six windows (a year to date is up to 335 day rows per unit).
--
-- UNLOGGED: after a PostgreSQL crash the table is emptied, but every session is gone too, and a leader (new or the
-- same one reconnecting) starts with a full read. A migration adding a counter column adds it here as well.
CREATE UNLOGGED TABLE snapshot_deltas (LIKE kpi_counts_unit_hourly INCLUDING DEFAULTS);

-- Rounds no longer read the hour rollup by unit (the trend API still reads the day rollup by unit: that index stays).
DROP INDEX kpi_counts_unit_hourly_unit;
