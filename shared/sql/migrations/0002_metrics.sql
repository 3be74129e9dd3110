-- Metrics: event ids seen (the idempotency record), hourly counters, current KPI snapshots.

-- An event's id is inserted in the same transaction as its counter increments: a redelivered or
-- re-sent event conflicts here and is not counted again.
CREATE TABLE processed_events (
    event_id uuid PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);

-- Counters per event-time hour, unit and procedure ('' for feedback). Every KPI is a ratio of sums of these
-- columns over a window; numerators and denominators are summed, never ratios averaged.
CREATE TABLE kpi_counts_hourly (
    bucket timestamptz NOT NULL,
    unit_code text NOT NULL,
    procedure_code text NOT NULL,
    received bigint NOT NULL DEFAULT 0,
    received_online bigint NOT NULL DEFAULT 0,
    received_postal bigint NOT NULL DEFAULT 0,
    received_full_online bigint NOT NULL DEFAULT 0,
    received_online_capable bigint NOT NULL DEFAULT 0,
    received_digitized bigint NOT NULL DEFAULT 0,
    essential_received bigint NOT NULL DEFAULT 0,
    essential_received_online bigint NOT NULL DEFAULT 0,
    completed bigint NOT NULL DEFAULT 0,
    completed_electronic bigint NOT NULL DEFAULT 0,
    completed_with_due bigint NOT NULL DEFAULT 0,
    completed_on_time bigint NOT NULL DEFAULT 0,
    rated bigint NOT NULL DEFAULT 0,
    rated_satisfied bigint NOT NULL DEFAULT 0,
    feedback_closed bigint NOT NULL DEFAULT 0,
    feedback_on_time bigint NOT NULL DEFAULT 0,
    feedback_scored bigint NOT NULL DEFAULT 0,
    feedback_satisfied bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, unit_code, procedure_code)
);
CREATE INDEX kpi_counts_hourly_unit ON kpi_counts_hourly (unit_code, bucket);

-- The same counters rolled up in the same transaction, so a snapshot reads a few thousand rows, not millions:
-- per unit and Vietnam calendar day (whole days of a window) and per unit and hour (its partial days).
CREATE TABLE kpi_counts_daily (
    day date NOT NULL,
    unit_code text NOT NULL,
    received bigint NOT NULL DEFAULT 0,
    received_online bigint NOT NULL DEFAULT 0,
    received_postal bigint NOT NULL DEFAULT 0,
    received_full_online bigint NOT NULL DEFAULT 0,
    received_online_capable bigint NOT NULL DEFAULT 0,
    received_digitized bigint NOT NULL DEFAULT 0,
    essential_received bigint NOT NULL DEFAULT 0,
    essential_received_online bigint NOT NULL DEFAULT 0,
    completed bigint NOT NULL DEFAULT 0,
    completed_electronic bigint NOT NULL DEFAULT 0,
    completed_with_due bigint NOT NULL DEFAULT 0,
    completed_on_time bigint NOT NULL DEFAULT 0,
    rated bigint NOT NULL DEFAULT 0,
    rated_satisfied bigint NOT NULL DEFAULT 0,
    feedback_closed bigint NOT NULL DEFAULT 0,
    feedback_on_time bigint NOT NULL DEFAULT 0,
    feedback_scored bigint NOT NULL DEFAULT 0,
    feedback_satisfied bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, unit_code)
);

CREATE TABLE kpi_counts_unit_hourly (
    bucket timestamptz NOT NULL,
    unit_code text NOT NULL,
    received bigint NOT NULL DEFAULT 0,
    received_online bigint NOT NULL DEFAULT 0,
    received_postal bigint NOT NULL DEFAULT 0,
    received_full_online bigint NOT NULL DEFAULT 0,
    received_online_capable bigint NOT NULL DEFAULT 0,
    received_digitized bigint NOT NULL DEFAULT 0,
    essential_received bigint NOT NULL DEFAULT 0,
    essential_received_online bigint NOT NULL DEFAULT 0,
    completed bigint NOT NULL DEFAULT 0,
    completed_electronic bigint NOT NULL DEFAULT 0,
    completed_with_due bigint NOT NULL DEFAULT 0,
    completed_on_time bigint NOT NULL DEFAULT 0,
    rated bigint NOT NULL DEFAULT 0,
    rated_satisfied bigint NOT NULL DEFAULT 0,
    feedback_closed bigint NOT NULL DEFAULT 0,
    feedback_on_time bigint NOT NULL DEFAULT 0,
    feedback_scored bigint NOT NULL DEFAULT 0,
    feedback_satisfied bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, unit_code)
);

-- When each (unit, procedure) last received an online dossier: every window ends now, so a procedure was used
-- in a window exactly when this time falls inside it (online_service_usage_rate).
CREATE TABLE procedure_online (
    unit_code text NOT NULL,
    procedure_code text NOT NULL,
    last_online_at timestamptz NOT NULL,
    PRIMARY KEY (unit_code, procedure_code)
);

-- Newest event time seen per source: a silent upstream must be visible.
CREATE TABLE source_activity (
    source text PRIMARY KEY,
    last_occurred_at timestamptz NOT NULL,
    last_processed_at timestamptz NOT NULL,
    events bigint NOT NULL DEFAULT 0
);

-- Newest event time seen per unit, for staleness rules.
CREATE TABLE unit_activity (
    unit_code text PRIMARY KEY,
    last_occurred_at timestamptz NOT NULL
);

-- The current value of every (kpi, window, unit): what /v1/kpis, /metrics and the alerts service read.
CREATE TABLE kpi_snapshot (
    kpi text NOT NULL,
    window_name text NOT NULL,
    unit_code text NOT NULL,
    unit_level text NOT NULL,
    numerator bigint NOT NULL,
    denominator bigint NOT NULL,
    ratio double precision,
    window_start timestamptz NOT NULL,
    window_end timestamptz NOT NULL,
    computed_at timestamptz NOT NULL,
    PRIMARY KEY (kpi, window_name, unit_code)
);
