"""The operations dashboards: pipeline health and alerts."""

from __future__ import annotations

from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.common import GraphThresholdsStyleMode
from grafana_model import COLOR_BACKGROUND, Board, Json, prom, properties, sql, thresholds

RATE = "[$__rate_interval]"
PER_SECOND = "ops"  # Grafana's unit for "per second" counts
UP_DOWN = [
    model.ValueMap(
        options={
            "0": model.ValueMappingResult(text="down", color="red"),
            "1": model.ValueMappingResult(text="up", color="green"),
        }
    )
]


def rates(title: str, *queries: tuple[str, str], unit: str = PER_SECOND) -> timeseries.Panel:
    """A time series of (PromQL, legend) queries, refIds A, B, ... in order."""
    return (
        timeseries.Panel()
        .title(title)
        .unit(unit)
        .targets([prom(expr, legend, ref=chr(ord("A") + i)) for i, (expr, legend) in enumerate(queries)])
    )


def pipeline_health() -> Json:
    """Is data flowing: services up, throughput, rejections, consumer lag, dead letters, upstream staleness."""
    board = Board(
        "civicpulse-pipeline",
        "CivicPulse · Pipeline health",
        "From upstream systems through ingest and Kafka to the KPI snapshots.",
    )
    board.row("Services")
    board.add(stat.Panel().title("Services up").with_target(prom('sum(up{job=~"civicpulse-.*"})')), w=4, h=5)
    board.add(
        table.Panel()
        .title("Scrape targets")
        .with_target(prom('up{job=~"civicpulse-.*"}', instant=True))
        .override_by_name("Value", properties(mappings=UP_DOWN, **COLOR_BACKGROUND)),
        w=10,
        h=5,
    )
    board.add(
        stat.Panel()
        .title("Consumer lag (events)")
        .with_target(prom("civicpulse:consumer_lag:sum"))
        .thresholds(thresholds("green", (10000, "orange"), (50000, "red"))),
        w=5,
        h=5,
    )
    board.add(
        stat.Panel()
        .title("Dead letters ($__range)")
        .with_target(prom("sum(increase(civicpulse_events_dead_lettered_total[$__range]))"))
        .thresholds(thresholds("green", (1, "red"))),
        w=5,
        h=5,
    )
    board.row("Ingest")
    board.add(
        rates(
            "Events accepted, by source",
            (f"sum by (source) (rate(civicpulse_ingest_events_accepted_total{RATE}))", "{{source}}"),
        ),
        w=8,
    )
    board.add(
        rates(
            "Events rejected, by reason",
            (f"sum by (reason) (rate(civicpulse_ingest_events_rejected_total{RATE}))", "{{reason}}"),
        ),
        w=8,
    )
    board.add(
        rates(
            "HTTP requests, by route and status",
            (f"sum by (route, status) (rate(civicpulse_ingest_http_requests_total{RATE}))", "{{route}} {{status}}"),
            unit="reqps",
        ),
        w=8,
    )
    latency = f"rate(civicpulse_ingest_http_request_duration_seconds_bucket{RATE})"
    board.add(
        rates(
            "HTTP latency p95, by route",
            (f"histogram_quantile(0.95, sum by (le, route) ({latency}))", "{{route}}"),
            unit="s",
        ),
        w=12,
    )
    board.add(
        rates(
            "Kafka publishing, by service and topic",
            (
                f"sum by (app_name, destination, status) (rate(faststream_published_messages_total{RATE}))",
                "{{app_name}} → {{destination}} ({{status}})",
            ),
        ),
        w=12,
    )
    board.row("Metrics service")
    board.add(
        rates(
            "Events counted, by type", (f"sum by (type) (rate(civicpulse_events_processed_total{RATE}))", "{{type}}")
        ),
        w=8,
    )
    board.add(
        rates(
            "Duplicates and late events",
            (f"sum(rate(civicpulse_events_duplicate_total{RATE}))", "duplicates"),
            (f"sum(rate(civicpulse_events_late_total{RATE}))", "late (> 1h after occurring)"),
        ),
        w=8,
    )
    board.add(
        rates(
            "Dead letters, by reason",
            (f"sum by (reason) (rate(civicpulse_events_dead_lettered_total{RATE}))", "{{reason}}"),
        ),
        w=8,
    )
    board.add(
        timeseries.Panel()
        .title("Consumer lag, by partition")
        .with_target(prom("max by (partition) (civicpulse_consumer_lag)", "partition {{partition}}")),
        w=8,
    )
    board.add(
        rates(
            "Batch time p95 and snapshot time p95",
            (
                f"histogram_quantile(0.95, sum by (le) (rate(civicpulse_batch_processing_seconds_bucket{RATE})))",
                "batch",
            ),
            (f"histogram_quantile(0.95, sum by (le) (rate(civicpulse_snapshot_seconds_bucket{RATE})))", "snapshot"),
            unit="s",
        ),
        w=8,
    )
    board.add(
        timeseries.Panel()
        .title("Events per batch (median)")
        .with_target(
            prom(f"histogram_quantile(0.5, sum by (le) (rate(civicpulse_batch_events_bucket{RATE})))", "median")
        ),
        w=8,
    )
    board.add(
        rates(
            "Kafka messages handled, by service and outcome",
            (
                f"sum by (app_name, handler, status) (rate(faststream_received_processed_messages_total{RATE}))",
                "{{app_name}} {{handler}} ({{status}})",
            ),
        ),
        w=12,
    )
    board.add(
        timeseries.Panel()
        .title("Upstream staleness: age of the newest event, by source")
        .description("Above 30 minutes the source is stale (alert CivicPulseSourceStale).")
        .with_target(prom("min without (instance) (civicpulse_source_last_event_age_seconds)", "{{source}}"))
        .unit("s")
        .thresholds(thresholds("green", (1800, "red")))
        .thresholds_style(GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.LINE)),
        w=12,
    )
    board.add(
        rates(
            "Events for unknown units, by source",
            (f"sum by (source) (rate(civicpulse_unknown_unit_events_total{RATE}))", "{{source}}"),
        ).description(
            "Counted under a unit code the unit tree lacks (alert CivicPulseUnknownUnitEvents): they roll "
            "up once the tree gains the unit or an alias. The codes: GET /v1/units/unknown on the metrics "
            "service."
        ),
        w=8,
    )
    board.add(
        stat.Panel()
        .title("Unknown unit codes")
        .description("Distinct unit codes counted that are neither a unit nor an alias of the tree.")
        .with_target(prom("max(civicpulse_unknown_units)"))
        .thresholds(thresholds("green", (1, "orange"))),
        w=4,
        h=8,
    )
    return board.json()


def alerts() -> Json:
    """Alerts from both sides: the alerts service's rules and notifications, and Prometheus' own rules."""
    board = Board(
        "civicpulse-alerts", "CivicPulse · Alerts", "KPI and pipeline alerts: states, notifications and history."
    )
    board.row("Alerts service")
    board.add(
        stat.Panel()
        .title("Active alerts, by state and severity")
        .with_target(prom("sum by (state, severity) (civicpulse_alerts)", "{{state}} {{severity}}")),
        w=8,
        h=5,
    )
    board.add(stat.Panel().title("Rules loaded").with_target(prom("max(civicpulse_alert_rules)")), w=4, h=5)
    board.add(
        stat.Panel()
        .title("Undelivered notifications")
        .with_target(prom("sum by (status) (civicpulse_alert_outbox)", "{{status}}")),
        w=6,
        h=5,
    )
    board.add(
        stat.Panel()
        .title("Alert state changes ($__range)")
        .with_target(prom("sum(increase(civicpulse_alert_transitions_total[$__range]))")),
        w=6,
        h=5,
    )
    board.add(
        table.Panel().title("Active alerts, by rule").with_target(prom("civicpulse_alerts", instant=True)), w=12, h=9
    )
    board.add(
        rates(
            "State changes, by new state",
            (f"sum by (state) (rate(civicpulse_alert_transitions_total{RATE}))", "{{state}}"),
        ),
        w=12,
        h=9,
    )
    board.add(
        rates(
            "Notifications, by receiver",
            (f"sum by (receiver) (rate(civicpulse_alert_notifications_sent_total{RATE}))", "sent {{receiver}}"),
            (f"sum by (receiver) (rate(civicpulse_alert_notifications_retried_total{RATE}))", "retried {{receiver}}"),
            (f"sum by (receiver) (rate(civicpulse_alert_notifications_failed_total{RATE}))", "failed {{receiver}}"),
        ),
        w=12,
    )
    board.add(
        rates(
            "Evaluation time p95, by trigger",
            (
                "histogram_quantile(0.95, sum by (le, trigger) "
                f"(rate(civicpulse_alert_evaluation_seconds_bucket{RATE})))",
                "{{trigger}}",
            ),
            unit="s",
        ),
        w=12,
    )
    board.add(
        table.Panel()
        .title("Alert history")
        .description("Every state change recorded by the alerts service (alert_history).")
        .with_target(
            sql("""
SELECT at AS "Time", rule AS "Rule", subject AS "Subject", from_status AS "From", to_status AS "To",
       severity AS "Severity", value AS "Value", target AS "Target"
FROM alert_history
WHERE $__timeFilter(at)
ORDER BY at DESC
LIMIT 200
""")
        ),
        w=24,
        h=10,
    )
    board.row("Prometheus-side rules (deploy/prometheus/rules)")
    board.add(
        stat.Panel()
        .title("Pending and firing, by severity")
        .with_target(prom("count by (alertstate, severity) (ALERTS)", "{{alertstate}} {{severity}}")),
        w=8,
        h=8,
    )
    board.add(
        table.Panel()
        .title("Pending and firing alerts")
        .description("Alerts of the rules Prometheus evaluates; Alertmanager routes the firing ones.")
        .with_target(prom("ALERTS", instant=True)),
        w=16,
        h=8,
    )
    return board.json()
