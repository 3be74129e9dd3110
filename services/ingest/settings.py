"""Settings of the ingest service: runtime, Kafka, topics, HTTP, reference data and the ingest limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, model_validator

from shared.settings import HttpSettings, ReferenceDataSettings, ServiceSettings

MIB = 1024 * 1024


class IngestSettings(ServiceSettings, HttpSettings, ReferenceDataSettings):
    """Everything `civicpulse ingest serve` reads from `CIVICPULSE_*` variables."""

    http_port: int = Field(default=8001, ge=0, le=65535, description="HTTP port of the ingest API.")
    ingest_tokens_file: Path | None = Field(
        default=None,
        description=(
            "YAML file: sources, each with SHA-256 hex hashes of its bearer tokens and an optional rate limit. "
            "Required outside development; in development, unset means the demo credential (source demo)."
        ),
    )
    ingest_max_batch_events: int = Field(default=5000, ge=1, description="Most events one HTTP batch may hold.")
    ingest_max_body_bytes: int = Field(default=5 * MIB, ge=1, description="Largest accepted HTTP request body.")
    ingest_max_record_bytes: int = Field(
        default=1 * MIB, ge=1, description="Largest raw-topic record accepted; larger ones go to the DLQ."
    )
    ingest_group_id: str = Field(default="civicpulse-ingest", description="Consumer group reading the raw topic.")
    ingest_raw_batch_records: int = Field(
        default=500, ge=1, description="Most raw records handled (and committed) together."
    )
    ingest_future_tolerance: timedelta = Field(
        default=timedelta(hours=24), description="How far in the future an event time may be (ISO 8601 or seconds)."
    )
    ingest_publish_timeout_s: float = Field(
        default=10.0, gt=0, description="How long to wait for Kafka to acknowledge a batch before answering 503."
    )
    ingest_retry_after_s: int = Field(
        default=5, ge=1, description="Retry-After (seconds) sent with 503 while Kafka is unavailable."
    )

    @model_validator(mode="after")
    def _tokens_required_outside_development(self) -> IngestSettings:
        if self.environment != "development" and self.ingest_tokens_file is None:
            raise ValueError("ingest_tokens_file must be set when environment is not development")
        return self
