-- The read model: what the metrics service lets other services read of its tables, as views it owns.
-- A contract (docs/read-model.md, shared/read_model.py): readers use only these views, never the tables
-- behind them, so metrics may change its tables freely as long as the views keep their columns and types.
-- `IF NOT EXISTS`: the schema outlives a `DROP SCHEMA public CASCADE` (which drops the views with their tables).
CREATE SCHEMA IF NOT EXISTS read_model;

-- The current value of every (kpi, window, unit), as last computed.
CREATE VIEW read_model.kpi_current AS
SELECT kpi, window_name, unit_code, unit_level, numerator, denominator, ratio, computed_at
FROM kpi_snapshot;

-- The unit tree's names and levels.
CREATE VIEW read_model.units AS
SELECT code, name, level
FROM units;

-- Newest event time seen per source.
CREATE VIEW read_model.source_activity AS
SELECT source, last_occurred_at
FROM source_activity;

-- Newest event time per unit including its descendants: a unit is as fresh as its freshest descendant;
-- units the tree does not know count on their own.
CREATE VIEW read_model.unit_activity AS
SELECT coalesce(c.ancestor_code, a.unit_code) AS unit_code, max(a.last_occurred_at) AS last_occurred_at
FROM unit_activity a
LEFT JOIN unit_closure c ON c.descendant_code = a.unit_code
GROUP BY 1;
