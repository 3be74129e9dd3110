"""The AsyncAPI document of the alerts service's topics: `faststream docs gen --factory services.alerts.asyncapi:app`.

Built by the service's own composition root (`build_alerts`) from the default settings (topics
`civicpulse.kpi.snapshots` in, `civicpulse.alerts` out) and the shipped rules, without connecting to Kafka or
PostgreSQL; `docs/asyncapi/alerts.yaml` is the committed output.
"""

from __future__ import annotations

from faststream import FastStream
from faststream.specification import AsyncAPI

from services.alerts.inject import build_alerts
from services.alerts.settings import AlertsSettings


def app() -> FastStream:
    """A FastStream app holding the alerts broker's subscriber and publisher, for documentation only."""
    settings = AlertsSettings.model_construct()  # the defaults, whatever the environment says
    alerts = build_alerts(settings, environ={})
    specification = AsyncAPI(
        alerts.broker,
        title="CivicPulse alerts",
        version="1",
        description="KPI snapshots in; alert state changes out (every receiver else is HTTP or email, not Kafka).",
    )
    return FastStream(alerts.broker, specification=specification)
