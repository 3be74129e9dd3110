"""Local dev stack and test harness: real Kafka and PostgreSQL started as plain processes."""
