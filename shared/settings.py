"""Small settings classes, read from `CIVICPULSE_*` environment variables and combined per service."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CIVICPULSE_"
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "dev", "development"})


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_file=None)


class RuntimeSettings(_Settings):
    """Where the service runs."""

    environment: Literal["development", "test", "production"] = Field(
        default="development", description="Outside development, placeholder secrets refuse to start."
    )
    log_level: str = Field(default="INFO", description="Log level of the service's JSON logs.")
    log_format: Literal["json", "console"] = Field(default="json", description="Structured JSON or console lines.")


class KafkaSettings(_Settings):
    """How to reach Kafka; SASL/SSL options pass straight through to aiokafka."""

    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="Kafka security protocol."
    )
    kafka_sasl_mechanism: str | None = Field(default=None, description="SASL mechanism, e.g. SCRAM-SHA-512.")
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password (secret).")
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA bundle for SSL.")
    kafka_client_id: str = Field(default="civicpulse", description="Client id prefix shown in broker logs.")

    def aiokafka_options(self) -> dict[str, Any]:
        """Connection keyword arguments common to aiokafka producers, consumers and admin clients."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.kafka_bootstrap,
            "security_protocol": self.kafka_security_protocol,
        }
        if self.kafka_sasl_mechanism:
            options["sasl_mechanism"] = self.kafka_sasl_mechanism
            options["sasl_plain_username"] = self.kafka_sasl_username
            if self.kafka_sasl_password is not None:
                options["sasl_plain_password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(
                cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None
            )
        return options


class TopicSettings(_Settings):
    """Topic names, partition counts and retention."""

    topic_raw: str = Field(default="civicpulse.events.raw", description="Raw records produced by portals.")
    topic_events: str = Field(default="civicpulse.events", description="Validated canonical events.")
    topic_dlq: str = Field(default="civicpulse.events.dlq", description="Dead letters with the reason.")
    topic_snapshots: str = Field(default="civicpulse.kpi.snapshots", description="KPI snapshots.")
    topic_alerts: str = Field(default="civicpulse.alerts", description="Alert state changes.")
    events_partitions: int = Field(default=6, ge=1, description="Partitions of the raw and events topics.")
    other_partitions: int = Field(default=3, ge=1, description="Partitions of the DLQ, snapshot and alert topics.")
    replication_factor: int = Field(default=1, ge=1, description="Replication factor of created topics.")
    events_retention_ms: int = Field(
        default=14 * 24 * 3600 * 1000, description="Retention of the raw and events topics (ms)."
    )
    dlq_retention_ms: int = Field(default=30 * 24 * 3600 * 1000, description="Retention of the DLQ (ms).")
    snapshots_retention_ms: int = Field(default=3 * 24 * 3600 * 1000, description="Retention of snapshots (ms).")
    alerts_retention_ms: int = Field(default=90 * 24 * 3600 * 1000, description="Retention of alert changes (ms).")


class PostgresSettings(_Settings):
    """How to reach PostgreSQL."""

    pg_dsn: SecretStr = Field(
        default=SecretStr("postgresql://postgres@127.0.0.1:5432/civicpulse"),
        description="PostgreSQL DSN (may hold a password: treated as a secret).",
    )
    pg_pool_min: int = Field(default=1, ge=0, description="Minimum pool size.")
    pg_pool_max: int = Field(default=10, ge=1, description="Maximum pool size.")


class HttpSettings(_Settings):
    """Where a service's HTTP API listens."""

    http_host: str = Field(default="127.0.0.1", description="HTTP bind address.")
    http_port: int = Field(default=8000, ge=0, le=65535, description="HTTP port.")


class ReferenceDataSettings(_Settings):
    """Where the unit tree and procedure catalogue come from."""

    units_file: Path | None = Field(default=None, description="Unit tree YAML; the shipped sample if unset.")
    procedures_file: Path | None = Field(default=None, description="Procedure catalogue CSV; sample if unset.")


def refuse_placeholder(*, environment: str, name: str, value: SecretStr | None) -> None:
    """Refuse to start outside development with a missing or placeholder secret."""
    if environment == "development":
        return
    if value is None or value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
        raise ValueError(f"{name} must be set to a real secret when environment is not development")


class ServiceSettings(RuntimeSettings, KafkaSettings, TopicSettings):
    """Base of every service's settings: runtime, Kafka and topics."""

    @model_validator(mode="after")
    def _no_placeholder_kafka_password(self) -> ServiceSettings:
        if self.kafka_sasl_mechanism:
            refuse_placeholder(environment=self.environment, name="kafka_sasl_password", value=self.kafka_sasl_password)
        return self
