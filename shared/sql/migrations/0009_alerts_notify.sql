-- Alerts notify in two ways (issue 16): pages, grouped per receiver when it asks for it, and scheduled digests.

-- A notification to a grouping receiver waits `queued` until its group is due; then it is either sent on its
-- own (`pending`, when alone) or goes out inside a group notification (`grouped`, the group's row in `group_id`).
ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_status_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_status_check
    CHECK (status IN ('queued', 'pending', 'delivered', 'failed', 'grouped'));
ALTER TABLE notification_outbox ADD COLUMN group_id uuid;
CREATE INDEX notification_outbox_queued_idx ON notification_outbox (receiver, id) WHERE status = 'queued';

-- One row per receiver and scheduled slot: the digest sent then (its entries, for the next digest's "change
-- since"), written in the transaction that queues its notification, so a slot is digested once.
CREATE TABLE alert_digest (
    receiver text NOT NULL,
    slot timestamptz NOT NULL,
    notification_id uuid NOT NULL,
    entries jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (receiver, slot)
);
