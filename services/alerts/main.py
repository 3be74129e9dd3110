"""The alerts service as an ASGI app: the parts `build_alerts` wires, opened and run by the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypedDict, Unpack

import asyncpg
import httpx
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from services.alerts.api import alerts_router
from services.alerts.core.ruleset import RuleSet
from services.alerts.inject import Alerts, build_alerts
from services.alerts.ports import AlertsStorage
from services.alerts.settings import AlertsSettings
from services.alerts.silences_api import silences_router
from shared.http import install_error_handlers, ops_router
from shared.producer import RecordSink
from shared.startup import BackgroundStart


class Overrides(TypedDict, total=False):
    """What a caller may bring instead of what `build_alerts` would make."""

    environ: Mapping[str, str]
    clock: Callable[[], datetime]
    rules: RuleSet
    registry: CollectorRegistry
    broker: KafkaBroker
    producer: RecordSink
    pool: asyncpg.Pool[Any]
    storage: AlertsStorage
    client: httpx.AsyncClient


def create_app(
    settings: AlertsSettings, *, serve_while_connecting: bool = False, **overrides: Unpack[Overrides]
) -> FastAPI:
    """The alerts service as an ASGI app; an invalid rules file or a missing receiver secret refuses to start."""
    return alerts_app(build_alerts(settings, **overrides), serve_while_connecting=serve_while_connecting)


def alerts_app(alerts: Alerts, *, serve_while_connecting: bool = False) -> FastAPI:
    """The HTTP side of built parts; the app's lifespan opens them and runs them.

    PostgreSQL and Kafka are waited for (retried with backoff); with serve_while_connecting (`alerts serve`) the
    lifespan returns at once and /readyz answers 503 until they are reached, else it returns once they are.
    """
    settings = alerts.settings
    admin_token = settings.admin_token()

    @asynccontextmanager
    async def opened() -> AsyncIterator[Alerts]:
        async with alerts, alerts.running():
            yield alerts

    start = BackgroundStart(opened, what="alerts")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with start:
            if not serve_while_connecting:
                await start.wait_started()
            yield

    app = FastAPI(title="CivicPulse alerts", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(alerts_router(storage=alerts.storage, clock=alerts.clock))
    app.include_router(
        silences_router(
            storage=alerts.storage, clock=alerts.clock, admin_token=admin_token, changed=alerts.engine.refresh_silences
        )
    )
    app.include_router(
        ops_router(
            registry=alerts.registry,
            checks={
                "kafka": start.guard(lambda started: started.kafka_ready()),
                "postgres": start.guard(lambda started: started.storage.ping()),
            },
        )
    )
    return app
