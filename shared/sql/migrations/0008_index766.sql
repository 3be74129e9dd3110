-- Decision 766 service index: the facts its digitization indicators need as counters, and the progress group's
-- day rows (services/metrics/core/progress766.py), both written in the counting transaction.

-- Optional 766 facts of dossier.received: how many stated each fact (`*_known`: the sender said yes or no) and how
-- many said yes. An indicator whose fact no reception stated in a period is "no data", never 0.
ALTER TABLE kpi_counts_hourly
    ADD COLUMN received_population_known bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_population_data bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_reused_known bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_reused_data bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_personal_store_known bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_personal_store bigint NOT NULL DEFAULT 0;
ALTER TABLE kpi_counts_daily
    ADD COLUMN received_population_known bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_population_data bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_reused_known bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_reused_data bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_personal_store_known bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_personal_store bigint NOT NULL DEFAULT 0;
ALTER TABLE kpi_counts_unit_hourly
    ADD COLUMN received_population_known bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_population_data bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_reused_known bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_reused_data bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_personal_store_known bigint NOT NULL DEFAULT 0,
    ADD COLUMN received_personal_store bigint NOT NULL DEFAULT 0;

-- Per unit (not rolled up) and Vietnam day, kept by deltas between a dossier's state before and after a batch:
-- dossiers that started (were received) and ended (completed) that day, those completed on time, and +1/-1 at
-- the bounds of the days a dossier was in progress and not yet due. Any period's progress figures are sums and
-- prefix sums of these rows, exact for closed periods and to date. Small (units x days), never pruned: a prefix
-- sum needs every earlier day.
CREATE TABLE index766_days (
    unit_code text NOT NULL,
    day date NOT NULL,
    started bigint NOT NULL DEFAULT 0,
    ended bigint NOT NULL DEFAULT 0,
    on_time bigint NOT NULL DEFAULT 0,
    within_due_delta bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (unit_code, day)
);
