"""Builds the alerts service: snapshot consumer, timer, dispatcher, Alertmanager resender, rules watcher, HTTP API."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.alerts.api import alerts_router
from services.alerts.engine import utc_now
from services.alerts.rules_source import load_ruleset
from services.alerts.runtime import AlertsRuntime
from services.alerts.settings import AlertsSettings
from services.alerts.silences_api import silences_router
from services.alerts.telemetry import AlertsCollector, AlertsMetrics
from shared.db import create_pool
from shared.http import install_error_handlers, ops_router
from shared.kafka import create_broker


def create_app(
    settings: AlertsSettings,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The alerts service as an ASGI app; an invalid rules file or a missing receiver secret refuses to start."""
    environ = os.environ if environ is None else environ
    rules = load_ruleset(settings.alerts_rules_file, receivers_file=settings.alerts_receivers_file, environ=environ)
    admin_token = settings.admin_token()
    registry = CollectorRegistry()
    metrics = AlertsMetrics.create(registry)
    broker = create_broker(settings, registry=registry, app_name="alerts")
    changes_out = broker.publisher(settings.topic_alerts, title="alert state changes")
    state: dict[str, Any] = {}

    async def publish_change(key: bytes, value: bytes, headers: dict[str, str]) -> None:
        await changes_out.publish(value, key=key, headers=headers)

    def runtime() -> AlertsRuntime | None:
        current: AlertsRuntime | None = state.get("runtime")
        return current

    registry.register(
        AlertsCollector(
            views=lambda: list(r.engine.views.values()) if (r := runtime()) else [],
            backlog=lambda: r.dispatcher.backlog if (r := runtime()) else {},
            rules=lambda: len(r.engine.rules) if (r := runtime()) else len(rules),
        )
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        client = httpx.AsyncClient()
        state["pool"] = pool
        running = AlertsRuntime(settings=settings, pool=pool, client=client, broker=broker,
                                publish_change=publish_change, metrics=metrics, environ=environ, clock=clock,
                                rules=rules)  # fmt: skip
        try:
            await running.start()
            state["runtime"] = running
            yield
        finally:
            state.pop("runtime", None)
            await running.stop()
            await client.aclose()
            await pool.close()

    async def postgres_ready() -> bool:
        pool = state.get("pool")
        return pool is not None and await pool.fetchval("SELECT 1") == 1

    async def kafka_ready() -> bool:
        return await broker.ping(timeout=1.0)

    async def silences_changed() -> None:
        if (r := runtime()) is not None:
            await r.engine.refresh_silences()

    app = FastAPI(title="CivicPulse alerts", version="0.1.0", lifespan=lifespan)

    install_error_handlers(app)
    app.include_router(alerts_router(pool=lambda: state["pool"], clock=clock))
    app.include_router(silences_router(pool=lambda: state["pool"], clock=clock, admin_token=admin_token,
                                       changed=silences_changed))  # fmt: skip
    app.include_router(ops_router(registry=registry, checks={"kafka": kafka_ready, "postgres": postgres_ready}))
    app.state.broker = broker
    return app
