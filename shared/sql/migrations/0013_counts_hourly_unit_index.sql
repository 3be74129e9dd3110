-- No statement reads kpi_counts_hourly by unit: snapshots read the day and unit-hour rollups, the 766 index reads it
-- by hour range (its primary key leads with the hour), retention deletes by hour. The (unit_code, bucket) index only
-- cost each counting transaction an index entry per new (hour, unit, procedure) row: about one per event.
DROP INDEX kpi_counts_hourly_unit;
