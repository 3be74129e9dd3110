-- Reference data: the unit tree, its closure table, the procedure list and what each unit offers.

CREATE TABLE units (
    code text PRIMARY KEY,
    name text NOT NULL,
    level text NOT NULL CHECK (level IN ('province', 'department', 'district', 'commune')),
    -- Deferred so a file sync can insert, re-parent and delete units in any order within one transaction.
    parent_code text REFERENCES units (code) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX units_parent_code_idx ON units (parent_code);

-- One row per (ancestor, descendant), depth 0 for a unit with itself: a unit's KPI includes its descendants.
CREATE TABLE unit_closure (
    ancestor_code text NOT NULL,
    descendant_code text NOT NULL,
    depth int NOT NULL CHECK (depth >= 0),
    PRIMARY KEY (ancestor_code, descendant_code)
);
CREATE INDEX unit_closure_descendant_code_idx ON unit_closure (descendant_code);

CREATE TABLE procedures (
    code text PRIMARY KEY,
    name text NOT NULL,
    unit_level text NOT NULL CHECK (unit_level IN ('department', 'district', 'commune')),
    department_code text,
    service_level text NOT NULL CHECK (service_level IN ('full_online', 'partial_online', 'offline')),
    essential boolean NOT NULL
);

-- Which unit offers which procedure at which level. No foreign keys: `procedure.published` events may name
-- procedures or units the file does not know. A file sync replaces only origin='file' rows.
CREATE TABLE procedure_catalogue (
    unit_code text NOT NULL,
    procedure_code text NOT NULL,
    service_level text NOT NULL CHECK (service_level IN ('full_online', 'partial_online', 'offline')),
    origin text NOT NULL CHECK (origin IN ('file', 'event')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_code, procedure_code)
);
CREATE INDEX procedure_catalogue_procedure_code_idx ON procedure_catalogue (procedure_code);
