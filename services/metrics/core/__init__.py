"""Pure KPI logic: counters of an event, KPI definitions, windows. No Kafka, PostgreSQL or HTTP here."""
