-- Dossier lifecycle: each dossier's merged state, written in the counting transaction (only for new events), and
-- aggregates kept beside it by deltas, so live figures and processing times never scan the dossiers.

-- One row per dossier: the facts its events stated so far (services/metrics/core/lifecycle.py merges them in any
-- order), and what follows from them for the live figures. Closed dossiers leave after a retention
-- (metrics_dossier_retention_days, longer than the event-id retention, so a replayed event is still a duplicate).
CREATE TABLE dossier_state (
    dossier_id text PRIMARY KEY,
    unit_code text NOT NULL,
    procedure_code text NOT NULL,
    received_at timestamptz,
    due_at timestamptz,
    completion_due_at timestamptz,
    fee_bearing boolean,
    completed_at timestamptz,
    outcome text,
    pauses timestamptz[] NOT NULL DEFAULT '{}',
    resumes timestamptz[] NOT NULL DEFAULT '{}',
    supplements integer NOT NULL DEFAULT 0,
    paid_at timestamptz,
    payment_channel text,
    in_progress boolean NOT NULL DEFAULT false,
    paused boolean NOT NULL DEFAULT false,
    -- The due time of a dossier in progress whose clock runs (NULL otherwise): overdue once it has passed.
    running_due timestamptz,
    -- When an event last changed the row (processing time): retention of closed dossiers counts from here.
    touched_at timestamptz NOT NULL DEFAULT now()
);
-- Overdue dossiers of the current partial hour, and the oldest overdue ones, without a scan. Few indexes on
-- purpose: every state change writes the row again, and each index costs the counting transaction.
CREATE INDEX dossier_state_running_due ON dossier_state (running_due) WHERE running_due IS NOT NULL;
-- Closed dossiers to prune: completed (event time) before the cutoff is implied by last touched before it.
CREATE INDEX dossier_state_closed ON dossier_state (completed_at) WHERE completed_at IS NOT NULL;

-- Per unit (not rolled up): dossiers in progress and, of those, paused.
CREATE TABLE backlog_units (
    unit_code text PRIMARY KEY,
    in_progress bigint NOT NULL DEFAULT 0,
    paused bigint NOT NULL DEFAULT 0
);

-- Per unit and due hour: dossiers in progress whose clock runs. Overdue at `now` = the buckets wholly before
-- now's hour, plus the exact count of dossier_state rows due within it.
CREATE TABLE backlog_due (
    unit_code text NOT NULL,
    due_hour timestamptz NOT NULL,
    running bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (unit_code, due_hour)
);
CREATE INDEX backlog_due_due_hour ON backlog_due (due_hour);

-- Processing time (received -> completed, paused time deducted) as a histogram per completion day (Vietnam
-- time), unit, procedure and bin (services/metrics/core/processing.py: fixed bins, a documented error bound).
CREATE TABLE processing_time_daily (
    unit_code text NOT NULL,
    day date NOT NULL,
    procedure_code text NOT NULL,
    bin smallint NOT NULL,
    dossiers bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (unit_code, day, procedure_code, bin)
);
CREATE INDEX processing_time_daily_day ON processing_time_daily (day);

-- online_payment_rate: payments, and those made online (national portal or a local gateway), per paid hour;
-- fee-bearing receptions per received hour (for a variant whose denominator is the fee-bearing dossiers).
ALTER TABLE kpi_counts_hourly
    ADD COLUMN paid bigint NOT NULL DEFAULT 0,
    ADD COLUMN paid_online bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_fee_bearing bigint NOT NULL DEFAULT 0;
ALTER TABLE kpi_counts_daily
    ADD COLUMN paid bigint NOT NULL DEFAULT 0,
    ADD COLUMN paid_online bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_fee_bearing bigint NOT NULL DEFAULT 0;
ALTER TABLE kpi_counts_unit_hourly
    ADD COLUMN paid bigint NOT NULL DEFAULT 0,
    ADD COLUMN paid_online bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_fee_bearing bigint NOT NULL DEFAULT 0;
