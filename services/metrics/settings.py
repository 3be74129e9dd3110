"""Settings of the metrics service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from shared.settings import HttpSettings, PostgresSettings, ReferenceDataSettings, ServiceSettings


class MetricsSettings(ServiceSettings, PostgresSettings, HttpSettings, ReferenceDataSettings):
    """Everything the metrics service reads from `CIVICPULSE_*`."""

    http_port: int = Field(default=8002, ge=0, le=65535, description="HTTP port.")
    metrics_group_id: str = Field(default="civicpulse-metrics", description="Consumer group of the events topic.")
    metrics_batch_max_records: int = Field(default=5000, ge=1, description="Most events counted in one transaction.")
    metrics_batch_timeout_ms: int = Field(default=100, ge=1, description="Longest wait to fill a batch.")
    metrics_batches_in_flight: int = Field(
        default=1, ge=1, le=8,
        description="Batches in flight: above 1, the next ones are read, validated and prepared while one is "
        "counted (one transaction at a time); offsets are committed in order. 2 caught up faster without the "
        "lifecycle state, no faster with it, and served later at 10,000 units (bench, 2026-12-01).",
    )  # fmt: skip
    metrics_retry_backoff_s: float = Field(default=1.0, gt=0, description="Pause before a failed batch is retried.")
    metrics_snapshot_interval_s: float = Field(
        default=0.25,
        gt=0,
        description="How often the units whose counts changed (on any replica) are turned into the snapshots served.",
    )
    metrics_snapshot_publish_interval_s: float = Field(
        default=15.0,
        gt=0,
        description="How often the snapshots that changed are written to the table and the snapshots topic (the "
        "newest of each scope; /v1/kpis and /metrics show them at once). At national scale nearly every scope "
        "changes within seconds, so this sets the cost of publishing.",
    )
    metrics_snapshot_publish_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="At most this share of the time goes to publishing (a pause follows each slice of 400 scopes), "
        "so counting and /v1/kpis keep the rest while every scope is republished: the hour turned or a leader "
        "started. At 10,063 units that is ~660k snapshots; 1 publishes as fast as the service can.",
    )
    metrics_full_refresh_interval_s: float = Field(
        default=900.0,
        gt=0,
        description="Every snapshot is recomputed from scratch and republished this often (a window is read whole "
        "anyway when the hour turns).",
    )
    metrics_bucket_retention_days: int = Field(
        default=400, ge=2, description="Hourly buckets older than this are pruned; older events are dead-lettered."
    )
    metrics_event_id_retention_days: int = Field(
        default=45, ge=1, description="Event ids are kept this long (must exceed the events topic retention)."
    )
    metrics_prune_interval_s: float = Field(default=3600.0, gt=0, description="How often retention is enforced.")
    metrics_refdata_refresh_s: float = Field(
        default=300.0,
        gt=0,
        description="How often the reference files are checked: files whose SHA-256 changed since "
        "the last sync are re-read and synced (SIGHUP: at once, changed or not).",
    )
    metrics_levels: list[str] = Field(
        default=["province", "department", "commune"],
        description="Unit levels exported as Prometheus labels (bounded cardinality; only units that exist today). "
        "`district` exists only in trees before 1 July 2025. A whole country's communes are ~770,000 series: a "
        'national deployment exports `["province", "department"]` and reads communes from the API.',
    )
    metrics_kpi_variants_file: Path | None = Field(
        default=None, description="YAML of KPI definition variants replacing the defaults by name."
    )
    metrics_lifecycle_enabled: bool = Field(
        default=True,
        description="Keep each dossier's state and the live backlog (off only to benchmark counting without it).",
    )
    metrics_backlog_refresh_s: float = Field(
        default=2.0, gt=0, description="How often the live backlog is re-read (overdue-ness moves with the clock)."
    )
    metrics_dossier_retention_days: int = Field(
        default=60,
        ge=2,
        description="Completed dossiers leave the hot state this long after their last event (must exceed the "
        "event-id retention, so a replayed event is still recognised and can't resurrect one).",
    )
    metrics_index766_formula_file: Path | None = Field(
        default=None,
        description="Decision 766 index formula file (YAML, versioned); the shipped Decision 766/2022 one if unset.",
    )
    metrics_index766_catalogue_file: Path | None = Field(
        default=None,
        description="YAML of per-unit catalogue figures the 766 index reads (fee-bearing procedures, those set up "
        "for payment on the national portal); unset: those indicators are no data.",
    )
    metrics_index766_refresh_s: float = Field(
        default=60.0, gt=0, description="How often the current month's, quarter's and year's 766 index is recomputed."
    )

    metrics_board_alerts_url: str | None = Field(
        default="http://127.0.0.1:8003",
        description="Base URL of the alerts API whose active alerts the board shows (read by this service, not the "
        "browser); unset or unreachable: the board's alerts panel says unavailable.",
    )
    metrics_board_unit: str | None = Field(
        default=None, description="Unit the board opens on; unset: the first province of today's tree."
    )
    metrics_board_refresh_s: float = Field(default=30.0, ge=2, description="How often the board page refreshes.")
    metrics_board_source_quiet_s: float = Field(
        default=1800.0,
        gt=0,
        description="A source without events this long shows as silent on the board (the shipped source-stale "
        "rule's 30 minutes).",
    )

    @model_validator(mode="after")
    def _dossiers_outlive_event_ids(self) -> MetricsSettings:
        if self.metrics_dossier_retention_days <= self.metrics_event_id_retention_days:
            raise ValueError(
                f"metrics_dossier_retention_days ({self.metrics_dossier_retention_days}) must exceed "
                f"metrics_event_id_retention_days ({self.metrics_event_id_retention_days})"
            )
        return self
