"""The AsyncAPI document of the metrics service's topics: `faststream docs gen --factory services.metrics.asyncapi:app`.

Built by the service's own wiring (`wire_metrics`) from the default settings (topics `civicpulse.events`,
`civicpulse.kpi.snapshots`, `civicpulse.events.dlq`), without connecting to Kafka or PostgreSQL;
`docs/asyncapi/metrics.yaml` is the committed output.
"""

from __future__ import annotations

import asyncio

import asyncpg
from faststream import FastStream
from faststream.specification import AsyncAPI

from services.metrics.main import wire_metrics
from services.metrics.settings import MetricsSettings


def app() -> FastStream:
    """A FastStream app holding the metrics broker's subscriber and publishers, for documentation only."""
    settings = MetricsSettings.model_construct()  # the defaults, whatever the environment says
    loop = asyncio.new_event_loop()
    try:
        # A pool connects when awaited, never here: this one stays closed, as documenting needs no database.
        pool = asyncpg.create_pool(settings.pg_dsn.get_secret_value(), loop=loop)
        service = wire_metrics(settings, pool=pool)
    finally:
        loop.close()
    specification = AsyncAPI(
        service.broker,
        title="CivicPulse metrics",
        version="1",
        description="Canonical events in; KPI snapshots and dead letters out.",
    )
    return FastStream(service.broker, specification=specification)
