"""The one place the ingest service is built: credentials, broker, producer, raw intake, routes and metrics.

`build_service(settings, **overrides)` builds it; `create_app` is its HTTP app, what `civicpulse ingest serve`
runs. Tests and the AsyncAPI generator build the service here too, replacing parts by keyword.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict, Unpack

from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from services.ingest.api import ingest_router
from services.ingest.auth import DEV_SOURCE, DEV_TOKEN, Credentials, CredentialsError, load_credentials
from services.ingest.core.adapters import ADAPTERS, AdapterContext, ProcedureInfo
from services.ingest.core.ratelimit import RateLimiter
from services.ingest.dialect import dialect_router
from services.ingest.grouped_send import GroupedSink
from services.ingest.intake import Intake
from services.ingest.openapi import install_event_schemas
from services.ingest.raw_intake import RawIntake, register_raw_intake
from services.ingest.settings import IngestSettings
from services.ingest.telemetry import IngestMetrics, RequestMetricsMiddleware
from shared.events import Event
from shared.http import install_error_handlers, ops_router
from shared.kafka import create_broker, start_broker
from shared.producer import RecordProducer, RecordSink, TopicPartitions
from shared.refdata import load_reference_data
from shared.startup import BackgroundStart
from shared.topics import RAW_MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)
APP_NAME = "ingest"
PRODUCER_OPTIONS = {
    # A larger producer batch lifts 1,000-event throughput by ~15% (bench/ingest.py); a dead letter may carry
    # a raw record as large as the raw topic allows.
    "max_batch_size": 256 * 1024,
    "max_request_size": RAW_MAX_MESSAGE_BYTES + 128 * 1024,
}


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def credentials_for(settings: IngestSettings) -> Credentials:
    """The tokens file's credentials; the demo credential in development when there is no file."""
    if settings.ingest_tokens_file is None:
        # The settings validator already refused this outside development.
        log.warning(
            "no tokens file: accepting the development credential",
            extra={"source": DEV_SOURCE, "hint": "set CIVICPULSE_INGEST_TOKENS_FILE"},
        )
        return Credentials.development()
    credentials = load_credentials(settings.ingest_tokens_file)
    if settings.environment != "development" and credentials.holds_dev_token():
        raise CredentialsError(f"the public development token {DEV_TOKEN!r} is not allowed outside development")
    return credentials


def catalogue_context(settings: IngestSettings) -> AdapterContext:
    """Adapter context backed by the configured (or sample) procedure catalogue and unit tree (codes and aliases)."""
    data = load_reference_data(units_file=settings.units_file, procedures_file=settings.procedures_file)
    procedures = {
        code: ProcedureInfo(service_level=p.service_level, essential=p.essential)
        for code, p in data.catalogue.procedures.items()
    }
    return AdapterContext(procedure_lookup=procedures.get, unit_lookup=data.tree.resolve)


def build_broker(settings: IngestSettings, *, registry: CollectorRegistry) -> KafkaBroker:
    """The service's broker, with the topics it writes documented for AsyncAPI (the raw subscriber comes later)."""
    broker = create_broker(settings, registry=registry, app_name=APP_NAME, **PRODUCER_OPTIONS)
    broker.publisher(
        settings.topic_events, title="events", schema=Event,
        description="Canonical events, key = dossier_id / feedback_id / unit/procedure; acks=all (a retry may "
        "repeat a record: its event_id makes it count once).",
    )  # fmt: skip
    broker.publisher(
        settings.topic_dlq,
        title="dead-letters",
        schema=bytes,
        description="Raw records that are not valid events: original bytes, headers x-dlq-reason, x-dlq-error, "
        "x-source-topic, x-source-partition, x-source-offset, x-dlq-at; a record holding personal data is stored "
        "as a redacted copy instead (header x-dlq-redacted says so; its value is dropped when it cannot be parsed).",
    )
    return broker


class Overrides(TypedDict, total=False):
    """Parts of the service a caller (a test, the AsyncAPI generator) may supply instead of the built ones."""

    credentials: Credentials
    adapter_context: AdapterContext
    producer: RecordSink
    registry: CollectorRegistry
    clock: Callable[[], datetime]
    monotonic: Callable[[], float]


@dataclass(frozen=True, slots=True)
class IngestService:
    """The built service: the HTTP app, whose lifespan starts and stops the broker, and the broker."""

    app: FastAPI
    broker: KafkaBroker


def build_service(
    settings: IngestSettings,
    *,
    credentials: Credentials | None = None,
    adapter_context: AdapterContext | None = None,
    producer: RecordSink | None = None,
    registry: CollectorRegistry | None = None,
    clock: Callable[[], datetime] = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
    serve_while_connecting: bool = False,
) -> IngestService:
    """Every part of the service, built from its settings; nothing connects until the app's lifespan starts.

    Kafka is waited for (retried with backoff); with serve_while_connecting (`ingest serve`) the lifespan returns at
    once, /readyz answers 503 and batches 503 + Retry-After until it is reached, else it returns once it is.
    """
    credentials = credentials if credentials is not None else credentials_for(settings)
    context = adapter_context if adapter_context is not None else catalogue_context(settings)
    registry = registry if registry is not None else CollectorRegistry()
    metrics = IngestMetrics(registry)
    broker = build_broker(settings, registry=registry)
    sink = (
        producer
        if producer is not None
        else RecordProducer(broker, timeout_s=settings.ingest_publish_timeout_s, partitions=TopicPartitions(settings))
    )
    raw_intake = RawIntake(
        settings=settings, publisher=sink, metrics=metrics, clock=clock, adapters=ADAPTERS, adapter_context=context
    )
    register_raw_intake(broker, raw_intake, settings=settings)
    intake = Intake(
        publisher=GroupedSink(sink), limiter=RateLimiter(credentials.rate_limits, clock=monotonic), metrics=metrics,
        topic=settings.topic_events,
    )  # fmt: skip

    @asynccontextmanager
    async def connected() -> AsyncIterator[KafkaBroker]:
        await start_broker(broker, settings)
        log.info("ingest started", extra={"bootstrap": settings.kafka_bootstrap, "raw_topic": settings.topic_raw})
        try:
            yield broker
        finally:
            await broker.stop()

    start = BackgroundStart(connected, what="ingest")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with start:
            if not serve_while_connecting:
                await start.wait_started()
            yield

    kafka_ready = start.guard(lambda started: started.ping(timeout=1))

    app = FastAPI(
        title="CivicPulse ingest", version="1", lifespan=lifespan, max_body_size=settings.ingest_max_body_bytes,
        description="Write API for dossier and feedback events: canonical batches and upstream formats.",
    )  # fmt: skip
    install_error_handlers(app)
    app.include_router(ops_router(registry=registry, checks={"kafka": kafka_ready}))
    app.include_router(
        ingest_router(
            settings=settings, credentials=credentials, intake=intake, adapters=ADAPTERS,
            adapter_context=context, clock=clock,
        )
    )  # fmt: skip
    app.include_router(
        dialect_router(
            settings=settings, credentials=credentials, intake=intake, adapter=ADAPTERS["dvcqg"],
            adapter_context=context, clock=clock,
        )
    )  # fmt: skip
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    install_event_schemas(app, max_events=settings.ingest_max_batch_events)
    return IngestService(app=app, broker=broker)


def create_app(
    settings: IngestSettings, *, serve_while_connecting: bool = False, **overrides: Unpack[Overrides]
) -> FastAPI:
    """The ingest API and raw-topic consumer (see `build_service`); Kafka connects in the lifespan, not here."""
    return build_service(settings, serve_while_connecting=serve_while_connecting, **overrides).app
