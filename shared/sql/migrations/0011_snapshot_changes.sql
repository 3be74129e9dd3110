-- The units whose counts changed since the snapshot leader last looked: the counting transaction marks each unit of
-- its batch (in the same transaction as the counts), the leader claims the marks (DELETE ... RETURNING) and then
-- re-reads only those units' window totals, rolling the difference up the tree in memory. A unit counted while the
-- leader reads stays marked for the next round, so no change is missed and none is applied from a half-written
-- batch. At 10,000 units a full recompute took 4.4 s; a round is now proportional to the units that changed.
CREATE TABLE snapshot_changes (
    unit_code text PRIMARY KEY
);

-- What a round reads: the changed units' own rows of a window, by unit first.
CREATE INDEX kpi_counts_daily_unit ON kpi_counts_daily (unit_code, day);
CREATE INDEX kpi_counts_unit_hourly_unit ON kpi_counts_unit_hourly (unit_code, bucket);
