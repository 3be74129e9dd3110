"""Pipeline health as this replica knows it: consumer lag, dead letters, sources gone quiet, unknown units."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge
from pydantic import BaseModel, Field

from services.metrics.board import SnapshotBoard
from services.metrics.telemetry import PipelineMetrics


class SourceHealth(BaseModel):
    """One upstream source and how long it has been quiet."""

    source: str
    last_event_at: datetime
    quiet_s: float
    silent: bool = Field(description="Quiet longer than the board's threshold.")


class PipelineHealth(BaseModel):
    """What the metrics service knows of its own pipeline right now."""

    consumer_lag: int | None = Field(description="Records behind the partition ends this replica consumes; null: none.")
    lag_by_partition: dict[str, int]
    dead_letters: int = Field(description="Events this replica sent to the DLQ since it started.")
    dead_letters_by_reason: dict[str, int]
    quiet_threshold_s: float
    sources: list[SourceHealth]
    unknown_units: int
    snapshots_computed_at: datetime | None


def _samples(metric: Gauge | Counter, *, label: str, suffix: str = "") -> dict[str, int]:
    values: dict[str, int] = {}
    for family in metric.collect():
        for sample in family.samples:
            if sample.name == family.name + suffix:
                values[sample.labels[label]] = int(sample.value)
    return values


def pipeline_health(
    *, metrics: PipelineMetrics, board: SnapshotBoard, now: datetime, quiet_threshold_s: float
) -> PipelineHealth:
    """Read from memory: the gauges the consumer keeps and the newest event per source the refresher reads."""
    lag = _samples(metrics.lag, label="partition")
    dead = _samples(metrics.dead_lettered, label="reason", suffix="_total")
    sources = []
    for source, newest in sorted(board.source_activity.items()):
        quiet = max(0.0, (now - newest).total_seconds())
        sources.append(SourceHealth(source=source, last_event_at=newest, quiet_s=round(quiet, 1),
                                    silent=quiet > quiet_threshold_s))  # fmt: skip
    computed = board.computed_at
    return PipelineHealth(
        consumer_lag=sum(lag.values()) if lag else None,
        lag_by_partition=dict(sorted(lag.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)),
        dead_letters=sum(dead.values()),
        dead_letters_by_reason=dead,
        quiet_threshold_s=quiet_threshold_s,
        sources=sources,
        unknown_units=board.unknown_units_total,
        snapshots_computed_at=computed,
    )
