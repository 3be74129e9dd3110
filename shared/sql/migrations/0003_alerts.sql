-- Alerts: the state of every (rule, subject), its history, the notification outbox and silences.

-- One row per alert that has ever left `inactive`. `version` makes writes compare-and-set, so two replicas
-- evaluating the same alert cannot both fire it.
CREATE TABLE alert_state (
    alert_id text PRIMARY KEY,
    rule text NOT NULL,
    subject text NOT NULL,
    status text NOT NULL CHECK (status IN ('inactive', 'pending', 'firing', 'resolved')),
    since timestamptz,
    fired_at timestamptz,
    episode integer NOT NULL DEFAULT 0,
    value double precision,
    numerator bigint,
    denominator bigint,
    observed_at timestamptz,
    last_event_at timestamptz,
    target double precision,
    last_notified_at timestamptz,
    notified_count integer NOT NULL DEFAULT 0,
    severity text NOT NULL DEFAULT '',
    labels jsonb NOT NULL DEFAULT '{}',
    annotations jsonb NOT NULL DEFAULT '{}',
    version bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_state_status_idx ON alert_state (status);

-- Every state change, appended in the transaction that made it.
CREATE TABLE alert_history (
    id bigserial PRIMARY KEY,
    alert_id text NOT NULL,
    rule text NOT NULL,
    subject text NOT NULL,
    from_status text NOT NULL,
    to_status text NOT NULL,
    at timestamptz NOT NULL,
    episode integer NOT NULL,
    value double precision,
    numerator bigint,
    denominator bigint,
    target double precision,
    severity text NOT NULL DEFAULT '',
    labels jsonb NOT NULL DEFAULT '{}',
    annotations jsonb NOT NULL DEFAULT '{}',
    note text
);
CREATE INDEX alert_history_alert_idx ON alert_history (alert_id, id);
CREATE INDEX alert_history_at_idx ON alert_history (at);

-- Notifications to deliver, written in the same transaction as the state change that caused them. One row per
-- (notification, receiver); `notification_id` is stable, so a receiver can drop a redelivery. Rows of one alert
-- and receiver are delivered in id order. `next_attempt_at` doubles as the lease of a row being delivered.
CREATE TABLE notification_outbox (
    id bigserial PRIMARY KEY,
    notification_id uuid NOT NULL,
    receiver text NOT NULL,
    alert_id text NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    UNIQUE (notification_id, receiver)
);
CREATE INDEX notification_outbox_due_idx ON notification_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_outbox_alert_idx ON notification_outbox (alert_id, receiver, id) WHERE status = 'pending';

-- Silences mute notifications of matching alerts between starts_at and ends_at; the alerts stay visible.
CREATE TABLE silences (
    id uuid PRIMARY KEY,
    matchers jsonb NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    author text NOT NULL,
    comment text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CHECK (ends_at > starts_at)
);
CREATE INDEX silences_ends_at_idx ON silences (ends_at) WHERE deleted_at IS NULL;
