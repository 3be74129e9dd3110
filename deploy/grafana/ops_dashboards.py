"""The operations dashboards: pipeline health and alerts."""

from __future__ import annotations

from grafana_model import Board, Json, prom, series_override, sql, thresholds

RATE = "[$__rate_interval]"
PER_SECOND = "ops"  # Grafana's unit for "per second" counts
UP_DOWN = [{"type": "value", "options": {"0": {"text": "down", "color": "red"}, "1": {"text": "up", "color": "green"}}}]


def pipeline_health() -> Json:
    """Is data flowing: services up, throughput, rejections, consumer lag, dead letters, upstream staleness."""
    board = Board("civicpulse-pipeline", "CivicPulse · Pipeline health",
                  "From upstream systems through ingest and Kafka to the KPI snapshots.")  # fmt: skip
    board.row("Services")
    board.add("stat", "Services up", [prom('sum(up{job=~"civicpulse-.*"})')], w=4, h=5)
    board.add("table", "Scrape targets", [prom('up{job=~"civicpulse-.*"}', instant=True)], w=10, h=5,
              overrides=[series_override("Value", mappings=UP_DOWN,
                                         **{"custom.cellOptions": {"type": "color-background"}})])  # fmt: skip
    board.add("stat", "Consumer lag (events)", [prom("civicpulse:consumer_lag:sum")], w=5, h=5,
              thresholds=thresholds("green", (10000, "orange"), (50000, "red")))  # fmt: skip
    board.add("stat", "Dead letters ($__range)",
              [prom("sum(increase(civicpulse_events_dead_lettered_total[$__range]))")], w=5, h=5,
              thresholds=thresholds("green", (1, "red")))  # fmt: skip
    board.row("Ingest")
    board.add("timeseries", "Events accepted, by source",
              [prom(f"sum by (source) (rate(civicpulse_ingest_events_accepted_total{RATE}))", "{{source}}")],
              w=8, unit=PER_SECOND)  # fmt: skip
    board.add("timeseries", "Events rejected, by reason",
              [prom(f"sum by (reason) (rate(civicpulse_ingest_events_rejected_total{RATE}))", "{{reason}}")],
              w=8, unit=PER_SECOND)  # fmt: skip
    board.add("timeseries", "HTTP requests, by route and status",
              [prom(f"sum by (route, status) (rate(civicpulse_ingest_http_requests_total{RATE}))",
                    "{{route}} {{status}}")], w=8, unit="reqps")  # fmt: skip
    latency = f"rate(civicpulse_ingest_http_request_duration_seconds_bucket{RATE})"
    board.add(
        "timeseries",
        "HTTP latency p95, by route",
        [prom(f"histogram_quantile(0.95, sum by (le, route) ({latency}))", "{{route}}")],
        w=12,
        unit="s",
    )
    board.add("timeseries", "Kafka publishing, by service and topic", [prom(
        f"sum by (app_name, destination, status) (rate(faststream_published_messages_total{RATE}))",
        "{{app_name}} → {{destination}} ({{status}})")], w=12, unit=PER_SECOND)  # fmt: skip
    board.row("Metrics service")
    board.add("timeseries", "Events counted, by type",
              [prom(f"sum by (type) (rate(civicpulse_events_processed_total{RATE}))", "{{type}}")], w=8,
              unit=PER_SECOND)  # fmt: skip
    board.add("timeseries", "Duplicates and late events", [
        prom(f"sum(rate(civicpulse_events_duplicate_total{RATE}))", "duplicates", ref="A"),
        prom(f"sum(rate(civicpulse_events_late_total{RATE}))", "late (> 1h after occurring)", ref="B"),
    ], w=8, unit=PER_SECOND)  # fmt: skip
    board.add("timeseries", "Dead letters, by reason",
              [prom(f"sum by (reason) (rate(civicpulse_events_dead_lettered_total{RATE}))", "{{reason}}")], w=8,
              unit=PER_SECOND)  # fmt: skip
    board.add("timeseries", "Consumer lag, by partition",
              [prom("max by (partition) (civicpulse_consumer_lag)", "partition {{partition}}")], w=8)  # fmt: skip
    board.add("timeseries", "Batch time p95 and snapshot time p95", [
        prom(f"histogram_quantile(0.95, sum by (le) (rate(civicpulse_batch_processing_seconds_bucket{RATE})))",
             "batch", ref="A"),
        prom(f"histogram_quantile(0.95, sum by (le) (rate(civicpulse_snapshot_seconds_bucket{RATE})))",
             "snapshot", ref="B"),
    ], w=8, unit="s")  # fmt: skip
    board.add("timeseries", "Events per batch (median)",
              [prom(f"histogram_quantile(0.5, sum by (le) (rate(civicpulse_batch_events_bucket{RATE})))", "median")],
              w=8)  # fmt: skip
    board.add("timeseries", "Kafka messages handled, by service and outcome", [prom(
        f"sum by (app_name, handler, status) (rate(faststream_received_processed_messages_total{RATE}))",
        "{{app_name}} {{handler}} ({{status}})")], w=12, unit=PER_SECOND)  # fmt: skip
    board.add("timeseries", "Upstream staleness: age of the newest event, by source",
              [prom("min without (instance) (civicpulse_source_last_event_age_seconds)", "{{source}}")], w=12,
              unit="s", thresholds=thresholds("green", (1800, "red")),
              custom={"thresholdsStyle": {"mode": "line"}},
              description="Above 30 minutes the source is stale (alert CivicPulseSourceStale).")  # fmt: skip
    board.add("timeseries", "Events for unknown units, by source", [
        prom(f"sum by (source) (rate(civicpulse_unknown_unit_events_total{RATE}))", "{{source}}", ref="A"),
    ], w=8, unit=PER_SECOND,
        description="Counted under a unit code the unit tree lacks (alert CivicPulseUnknownUnitEvents): they roll up "
        "once the tree gains the unit or an alias. The codes: GET /v1/units/unknown on the metrics service.",
    )  # fmt: skip
    board.add("stat", "Unknown unit codes", [prom("max(civicpulse_unknown_units)")], w=4, h=8,
              thresholds=thresholds("green", (1, "orange")),
              description="Distinct unit codes counted that are neither a unit nor an alias of the tree.")  # fmt: skip
    return board.json()


def alerts() -> Json:
    """Alerts from both sides: the alerts service's rules and notifications, and Prometheus' own rules."""
    board = Board("civicpulse-alerts", "CivicPulse · Alerts",
                  "KPI and pipeline alerts: states, notifications and history.")  # fmt: skip
    board.row("Alerts service")
    board.add("stat", "Active alerts, by state and severity",
              [prom("sum by (state, severity) (civicpulse_alerts)", "{{state}} {{severity}}")], w=8, h=5)  # fmt: skip
    board.add("stat", "Rules loaded", [prom("max(civicpulse_alert_rules)")], w=4, h=5)
    board.add("stat", "Undelivered notifications",
              [prom("sum by (status) (civicpulse_alert_outbox)", "{{status}}")], w=6, h=5)  # fmt: skip
    board.add("stat", "Alert state changes ($__range)",
              [prom("sum(increase(civicpulse_alert_transitions_total[$__range]))")], w=6, h=5)  # fmt: skip
    board.add("table", "Active alerts, by rule", [prom("civicpulse_alerts", instant=True)], w=12, h=9)
    board.add("timeseries", "State changes, by new state",
              [prom(f"sum by (state) (rate(civicpulse_alert_transitions_total{RATE}))", "{{state}}")], w=12, h=9,
              unit=PER_SECOND)  # fmt: skip
    board.add("timeseries", "Notifications, by receiver", [
        prom(f"sum by (receiver) (rate(civicpulse_alert_notifications_sent_total{RATE}))", "sent {{receiver}}",
             ref="A"),
        prom(f"sum by (receiver) (rate(civicpulse_alert_notifications_retried_total{RATE}))",
             "retried {{receiver}}", ref="B"),
        prom(f"sum by (receiver) (rate(civicpulse_alert_notifications_failed_total{RATE}))", "failed {{receiver}}",
             ref="C"),
    ], w=12, unit=PER_SECOND)  # fmt: skip
    board.add("timeseries", "Evaluation time p95, by trigger", [prom(
        f"histogram_quantile(0.95, sum by (le, trigger) (rate(civicpulse_alert_evaluation_seconds_bucket{RATE})))",
        "{{trigger}}")], w=12, unit="s")  # fmt: skip
    board.add("table", "Alert history", [sql("""
SELECT at AS "Time", rule AS "Rule", subject AS "Subject", from_status AS "From", to_status AS "To",
       severity AS "Severity", value AS "Value", target AS "Target"
FROM alert_history
WHERE $__timeFilter(at)
ORDER BY at DESC
LIMIT 200
""")], w=24, h=10, description="Every state change recorded by the alerts service (alert_history).")  # fmt: skip
    board.row("Prometheus-side rules (deploy/prometheus/rules)")
    board.add("stat", "Pending and firing, by severity",
              [prom("count by (alertstate, severity) (ALERTS)", "{{alertstate}} {{severity}}")], w=8, h=8)  # fmt: skip
    board.add("table", "Pending and firing alerts", [prom("ALERTS", instant=True)], w=16, h=8,
              description="Alerts of the rules Prometheus evaluates; Alertmanager routes the firing ones.")  # fmt: skip
    return board.json()
