"""Prometheus metrics of the alerts service: counters the pipeline updates, gauges read from memory at scrape."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.alerts.ports import KnownAlerts
from shared.alert_changes import AlertStatus

_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True, slots=True)
class AlertsMetrics:
    """Counters and histograms of evaluation and delivery."""

    transitions: Counter
    evaluation_seconds: Histogram
    snapshot_age_seconds: Histogram
    invalid_snapshots: Counter
    write_conflicts: Counter
    rules_reloads: Counter
    sent: Counter
    retried: Counter
    failed: Counter
    delivery_seconds: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> AlertsMetrics:
        """Register the metrics in registry."""
        return cls(
            transitions=Counter("civicpulse_alert_transitions", "Alert state changes, by new state.", ["state"],
                                registry=registry),
            evaluation_seconds=Histogram(
                "civicpulse_alert_evaluation_seconds", "Time to evaluate a snapshot batch or a timer tick.",
                ["trigger"], registry=registry, buckets=_SECONDS,
            ),
            snapshot_age_seconds=Histogram(
                "civicpulse_alert_snapshot_age_seconds", "From a snapshot's computation to its evaluation.",
                registry=registry, buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
            ),
            invalid_snapshots=Counter("civicpulse_alert_invalid_snapshots", "Snapshot records that did not parse.",
                                      registry=registry),
            write_conflicts=Counter(
                "civicpulse_alert_write_conflicts", "Alert writes lost to a concurrent writer (then re-evaluated).",
                registry=registry,
            ),
            rules_reloads=Counter("civicpulse_alert_rules_reloads", "Rules file reloads, by outcome.", ["outcome"],
                                  registry=registry),
            sent=Counter("civicpulse_alert_notifications_sent", "Notifications delivered, by receiver.",
                         ["receiver"], registry=registry),
            retried=Counter("civicpulse_alert_notifications_retried",
                            "Failed delivery attempts that will be retried, by receiver.", ["receiver"],
                            registry=registry),
            failed=Counter("civicpulse_alert_notifications_failed",
                           "Notifications given up on (recorded as failed), by receiver.", ["receiver"],
                           registry=registry),
            delivery_seconds=Histogram("civicpulse_alert_delivery_seconds", "Time of one delivery attempt.",
                                       ["receiver"], registry=registry, buckets=_SECONDS),
        )  # fmt: skip

    def rules_reloaded(self, outcome: str) -> None:
        """Count a rules reload by outcome (applied, rejected, failed)."""
        self.rules_reloads.labels(outcome).inc()


class OutboxBacklog(Protocol):
    """Undelivered notifications by (receiver, status), as last counted (the dispatcher's)."""

    @property
    def backlog(self) -> Mapping[tuple[str, str], int]: ...


class AlertsCollector(Collector):
    """Alerts by state, rule and severity, and the outbox backlog, read from memory at scrape time."""

    def __init__(self, *, known: KnownAlerts, outbox: OutboxBacklog) -> None:
        self._known = known
        self._outbox = outbox

    def collect(self) -> Iterator[GaugeMetricFamily]:
        alerts = GaugeMetricFamily(
            "civicpulse_alerts", "Alerts by state, rule and severity.", labels=["state", "rule", "severity"]
        )
        tally = Tally((a.state.status.value, a.state.rule, a.severity) for a in self._known.alerts.values())
        for (status, rule, severity), count in sorted(tally.items()):
            if status in (AlertStatus.PENDING, AlertStatus.FIRING):
                alerts.add_metric([status, rule, severity], count)
        yield alerts
        outbox = GaugeMetricFamily(
            "civicpulse_alert_outbox",
            "Undelivered notifications, by receiver and status (pending or failed).",
            labels=["receiver", "status"],
        )
        for (receiver, status), count in sorted(self._outbox.backlog.items()):
            outbox.add_metric([receiver, status], count)
        yield outbox
        yield GaugeMetricFamily("civicpulse_alert_rules", "Rules loaded.", value=len(self._known.rules))
