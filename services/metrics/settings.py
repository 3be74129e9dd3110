"""Settings of the metrics service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import HttpSettings, PostgresSettings, ReferenceDataSettings, ServiceSettings


class MetricsSettings(ServiceSettings, PostgresSettings, HttpSettings, ReferenceDataSettings):
    """Everything the metrics service reads from `CIVICPULSE_*`."""

    http_port: int = Field(default=8002, ge=0, le=65535, description="HTTP port.")
    metrics_group_id: str = Field(default="civicpulse-metrics", description="Consumer group of the events topic.")
    metrics_batch_max_records: int = Field(default=5000, ge=1, description="Most events counted in one transaction.")
    metrics_batch_timeout_ms: int = Field(default=100, ge=1, description="Longest wait to fill a batch.")
    metrics_retry_backoff_s: float = Field(default=1.0, gt=0, description="Pause before a failed batch is retried.")
    metrics_snapshot_interval_s: float = Field(
        default=0.5, gt=0, description="How often changed counts are turned into snapshots."
    )
    metrics_full_refresh_interval_s: float = Field(
        default=60.0, gt=0, description="Every snapshot is recomputed and republished this often (windows roll)."
    )
    metrics_bucket_retention_days: int = Field(
        default=400, ge=2, description="Hourly buckets older than this are pruned; older events are dead-lettered."
    )
    metrics_event_id_retention_days: int = Field(
        default=45, ge=1, description="Event ids are kept this long (must exceed the events topic retention)."
    )
    metrics_prune_interval_s: float = Field(default=3600.0, gt=0, description="How often retention is enforced.")
    metrics_refdata_refresh_s: float = Field(
        default=300.0, gt=0, description="How often the reference files are re-read (also on SIGHUP)."
    )
    metrics_levels: list[str] = Field(
        default=["province", "department", "district"],
        description="Unit levels exported as Prometheus labels (bounded cardinality).",
    )
    metrics_kpi_variants_file: Path | None = Field(
        default=None, description="YAML of KPI definition variants replacing the defaults by name."
    )
