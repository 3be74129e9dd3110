-- The two-tier government since 1 July 2025: commune-level units directly under a province, a kind for each
-- commune-level unit, validity dates and successors (a KPI of a successor includes its predecessors' dossiers
-- through unit_closure), and the identifiers upstream systems use for a unit.

ALTER TABLE units
    ADD COLUMN kind text CHECK (kind IN ('commune', 'ward', 'special_zone', 'township')),
    -- Vietnam calendar days, both inclusive; NULL is an open bound.
    ADD COLUMN valid_from date,
    ADD COLUMN valid_to date,
    -- Deferred like parent_code, so a file sync can write units in any order within one transaction.
    ADD COLUMN successor_code text REFERENCES units (code) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT units_valid_range CHECK (valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to);

UPDATE units SET kind = 'commune' WHERE level = 'commune';

ALTER TABLE units ADD CONSTRAINT units_kind_for_communes CHECK (kind IS NULL OR level = 'commune');
CREATE INDEX units_successor_code_idx ON units (successor_code);

-- An identifier an upstream system uses for a unit: a national-portal agency code, an EMC SiteId, the unit
-- prefix of a dossier code. Unique across the tree; a file sync replaces them.
CREATE TABLE unit_aliases (
    alias text PRIMARY KEY,
    unit_code text NOT NULL REFERENCES units (code) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX unit_aliases_unit_code_idx ON unit_aliases (unit_code);
