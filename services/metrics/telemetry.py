"""Prometheus metrics of the metrics service: pipeline counters and a collector over the in-memory snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.metrics.board import SnapshotBoard
from services.metrics.index766 import IndexBoard


@dataclass(frozen=True, slots=True)
class PipelineMetrics:
    """Counters and gauges the consumer updates."""

    processed: Counter
    duplicates: Counter
    late: Counter
    dead_lettered: Counter
    unknown_unit_events: Counter
    batch_seconds: Histogram
    batch_size: Histogram
    lag: Gauge
    snapshot_seconds: Histogram
    snapshot_scopes: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> PipelineMetrics:
        """Register the pipeline metrics in registry."""
        return cls(
            processed=Counter("civicpulse_events_processed", "Events counted, by type.", ["type"], registry=registry),
            duplicates=Counter(
                "civicpulse_events_duplicate", "Events already counted (redelivered or re-sent).", registry=registry
            ),
            late=Counter(
                "civicpulse_events_late",
                "Events counted more than an hour after they occurred.",
                ["type"],
                registry=registry,
            ),
            dead_lettered=Counter(
                "civicpulse_events_dead_lettered", "Events sent to the DLQ, by reason.", ["reason"], registry=registry
            ),
            unknown_unit_events=Counter(
                "civicpulse_unknown_unit_events",
                "Events counted for a unit code the unit tree lacks (neither a code nor an alias), by source.",
                ["source"],
                registry=registry,
            ),
            batch_seconds=Histogram(
                "civicpulse_batch_processing_seconds",
                "Time to count one batch (parse, transaction, commit).",
                registry=registry,
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            ),
            batch_size=Histogram(
                "civicpulse_batch_events",
                "Events in one consumed batch.",
                registry=registry,
                buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000),
            ),
            lag=Gauge(
                "civicpulse_consumer_lag", "Records behind the end of the partition.", ["partition"], registry=registry
            ),
            snapshot_seconds=Histogram(
                "civicpulse_snapshot_seconds",
                "Time of one snapshot round: claiming the changed units, reading them, rolling up, building.",
                registry=registry,
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            ),
            snapshot_scopes=Histogram(
                "civicpulse_snapshot_scopes",
                "Snapshots one round rebuilt (every scope when a window moved or at a full refresh).",
                registry=registry,
                buckets=(10, 100, 1000, 10_000, 100_000, 1_000_000),
            ),
        )


class KpiCollector(Collector):
    """KPI gauges read from memory at scrape time; no database query per scrape.

    Only units of the exported levels that exist on the day of their snapshot: a unit that ceased to exist keeps
    answering in the API for its own past, but has no series (bounded cardinality, and dashboards show today).
    """

    def __init__(self, *, board: SnapshotBoard, levels: frozenset[str]) -> None:
        self._board = board
        self._levels = levels

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["kpi", "window", "unit", "level"]  # as the labels dict below
        ratio = GaugeMetricFamily("civicpulse_kpi_ratio", "KPI value (numerator / denominator).", labels=labels)
        numerator = GaugeMetricFamily("civicpulse_kpi_numerator", "KPI numerator over the window.", labels=labels)
        denominator = GaugeMetricFamily("civicpulse_kpi_denominator", "KPI denominator over the window.", labels=labels)
        current, units = self._board.current, self._board.units
        for scope in current:
            unit = units.get(scope[2])
            # By the unit's level first: the leader builds a snapshot when read, and most may be of other levels.
            if unit is not None and unit.level not in self._levels:
                continue
            snapshot = current[scope]
            if snapshot.unit_level not in self._levels or not self._board.is_current(snapshot):
                continue
            # One labels dict for the three gauges (a scrape holds every sample at once: ~115,000 at national scale).
            values = {"kpi": snapshot.kpi, "window": snapshot.window, "unit": snapshot.unit_code,
                      "level": snapshot.unit_level}  # fmt: skip
            if snapshot.ratio is not None:  # no data is an absent series, not 0
                ratio.add_sample(ratio.name, values, snapshot.ratio)
            numerator.add_sample(numerator.name, values, snapshot.numerator)
            denominator.add_sample(denominator.name, values, snapshot.denominator)
        yield ratio
        yield numerator
        yield denominator
        age = GaugeMetricFamily(
            "civicpulse_source_last_event_age_seconds",
            "Seconds since the newest event of each source.",
            labels=["source"],
        )
        now = datetime.now(UTC)
        for source, newest in self._board.source_activity.items():
            age.add_metric([source], max(0.0, (now - newest).total_seconds()))
        yield age
        yield GaugeMetricFamily(
            "civicpulse_unknown_units",
            "Distinct unit codes events were counted for that the unit tree lacks (neither a code nor an alias).",
            value=self._board.unknown_units_total,
        )


class Index766Collector(Collector):
    """Decision 766 gauges for the current month, quarter and year, from memory: units of the exported levels that
    exist today only (bounded cardinality); a group without data is an absent series, not 0."""

    def __init__(self, *, board: IndexBoard, levels: frozenset[str]) -> None:
        self._board = board
        self._levels = levels

    def collect(self) -> Iterator[GaugeMetricFamily]:
        total = GaugeMetricFamily("civicpulse_index766_total", "Decision 766 index total (points of 100).",
                                  labels=["period", "unit", "level"])  # fmt: skip
        groups = GaugeMetricFamily("civicpulse_index766_group_points", "Decision 766 index points of one group.",
                                   labels=["period", "group", "unit", "level"])  # fmt: skip
        coverage = GaugeMetricFamily("civicpulse_index766_coverage",
                                     "Share (0..1) of the index's maximum points that has data behind it.",
                                     labels=["period", "unit", "level"])  # fmt: skip
        for kind, (period, scores) in self._board.current.items():
            for code, unit in scores.units.items():
                if unit.level not in self._levels or not unit.valid_on(period.last_day):
                    continue
                card = scores.cards[code]
                total.add_metric([kind.value, code, unit.level], round(card.total, 2))
                coverage.add_metric([kind.value, code, unit.level], card.coverage)
                for group in card.groups:
                    if group.points is not None:
                        groups.add_metric([kind.value, group.group, code, unit.level], round(group.points, 2))
        yield total
        yield groups
        yield coverage
