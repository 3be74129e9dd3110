"""Builds the metrics service: `wire_metrics` makes its parts, `build_metrics` runs them, `create_app` serves them."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Unpack

import asyncpg
import yaml
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from services.metrics.api import kpi_router
from services.metrics.backlog import BacklogBoard, BacklogCollector, BacklogRefresher
from services.metrics.backlog_api import backlog_router
from services.metrics.board import SnapshotBoard
from services.metrics.consumer import register_consumer
from services.metrics.core.kpis import KpiDefinition, kpi_definitions
from services.metrics.index766 import Index766Service, load_catalogue, load_formula
from services.metrics.index766_api import index766_router
from services.metrics.refresher import SnapshotRefresher, utc_now
from services.metrics.reports import report_router
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import Index766Collector, KpiCollector, PipelineMetrics
from services.metrics.web.routes import BoardParts, board_routes
from shared.commit_pipeline import CommitPipeline
from shared.db import create_pool_when_reachable
from shared.http import install_error_handlers, kafka_check, ops_router, postgres_check
from shared.kafka import create_broker, start_broker
from shared.producer import RecordProducer, TopicPartitions
from shared.snapshots import KpiSnapshot
from shared.startup import BackgroundStart

APP_NAME = "metrics"
PRODUCER_OPTIONS = {"max_batch_size": 256 * 1024}  # a full refresh sends tens of thousands of snapshots at once
SNAPSHOT_PUBLISH_TIMEOUT_S = 30.0


def load_definitions(settings: MetricsSettings) -> tuple[KpiDefinition, ...]:
    """Default KPI definitions, with the variants file's replacing them by name."""
    if settings.metrics_kpi_variants_file is None:
        return kpi_definitions()
    raw = yaml.safe_load(settings.metrics_kpi_variants_file.read_text("utf-8")) or {}
    variants = {name: KpiDefinition(name=name, **spec) for name, spec in raw.items()}
    return kpi_definitions(variants)


def build_broker(settings: MetricsSettings, *, registry: CollectorRegistry) -> KafkaBroker:
    """The service's broker, with the snapshot topic it writes documented for AsyncAPI (the consumer comes later)."""
    broker = create_broker(settings, registry=registry, app_name=APP_NAME, **PRODUCER_OPTIONS)
    broker.publisher(
        settings.topic_snapshots,
        title="kpi-snapshots",
        schema=KpiSnapshot,
        description="The current value of each (kpi, window, unit), key = kpi|window|unit_code: the changed ones "
        "after each batch, all of them at every full refresh; acks=all (a retry may repeat a record: the latest wins).",
    )
    return broker


@dataclass(frozen=True, slots=True)
class MetricsService:
    """The parts of the metrics service, wired together."""

    settings: MetricsSettings
    registry: CollectorRegistry
    metrics: PipelineMetrics
    board: SnapshotBoard
    pool: asyncpg.Pool[Any]
    broker: KafkaBroker
    producer: RecordProducer
    refresher: SnapshotRefresher
    backlog: BacklogBoard
    backlog_refresher: BacklogRefresher
    index766: Index766Service
    definitions: tuple[KpiDefinition, ...]
    pipeline: CommitPipeline

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Consume events and refresh snapshots until the block ends; SIGHUP re-reads the reference data."""
        await start_broker(self.broker, self.settings)  # also starts the producer the snapshots go out through
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, self.refresher.reload_reference_data)
        tasks = [asyncio.create_task(self.pipeline.run(), name="count-commits"),
                 asyncio.create_task(self.refresher.run(), name="snapshot-refresher")]  # fmt: skip
        if self.settings.metrics_lifecycle_enabled:
            tasks.append(asyncio.create_task(self.backlog_refresher.run(), name="backlog-refresher"))
        tasks.append(asyncio.create_task(self.index766.run(), name="index766-refresher"))
        try:
            yield
        finally:
            await self.pipeline.close()  # the batches in flight land and are committed while the broker still runs
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGHUP)
            await self.broker.stop()


def wire_metrics(
    settings: MetricsSettings,
    *,
    pool: asyncpg.Pool[Any],
    broker: KafkaBroker | None = None,
    registry: CollectorRegistry | None = None,
    board: SnapshotBoard | None = None,
    definitions: Sequence[KpiDefinition] | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> MetricsService:
    """Every part of the metrics service over a pool; nothing connects here. A given broker must use registry."""
    registry = CollectorRegistry() if registry is None else registry
    board = SnapshotBoard() if board is None else board
    broker = build_broker(settings, registry=registry) if broker is None else broker
    metrics = PipelineMetrics.create(registry)
    registry.register(KpiCollector(board=board, levels=frozenset(settings.metrics_levels)))
    backlog = BacklogBoard()
    registry.register(BacklogCollector(board=backlog, levels=frozenset(settings.metrics_levels)))
    backlog_refresher = BacklogRefresher(pool=pool, board=backlog, settings=settings, clock=clock)
    producer = RecordProducer(broker, timeout_s=SNAPSHOT_PUBLISH_TIMEOUT_S, partitions=TopicPartitions(settings))
    definitions = load_definitions(settings) if definitions is None else tuple(definitions)
    index766 = Index766Service(
        pool=pool, formula=load_formula(settings.metrics_index766_formula_file),
        catalogue=load_catalogue(settings.metrics_index766_catalogue_file),
        refresh_s=settings.metrics_index766_refresh_s, clock=clock, levels=frozenset(settings.metrics_levels),
    )  # fmt: skip
    registry.register(Index766Collector(board=index766.board, levels=frozenset(settings.metrics_levels)))
    refresher = SnapshotRefresher(
        pool=pool,
        board=board,
        definitions=definitions,
        producer=producer,
        settings=settings,
        metrics=metrics,
        clock=clock,
    )
    pipeline = register_consumer(broker, settings=settings, pool=pool, refresher=refresher, metrics=metrics)
    return MetricsService(
        settings=settings,
        registry=registry,
        metrics=metrics,
        board=board,
        pool=pool,
        broker=broker,
        producer=producer,
        refresher=refresher,
        backlog=backlog,
        backlog_refresher=backlog_refresher,
        index766=index766,
        definitions=definitions,
        pipeline=pipeline,
    )


@asynccontextmanager
async def build_metrics(
    settings: MetricsSettings,
    *,
    pool: asyncpg.Pool[Any] | None = None,
    broker: KafkaBroker | None = None,
    registry: CollectorRegistry | None = None,
    board: SnapshotBoard | None = None,
    definitions: Sequence[KpiDefinition] | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> AsyncIterator[MetricsService]:
    """The metrics service, connected and running until the block ends; a given pool is borrowed, not closed."""
    async with AsyncExitStack() as stack:
        if pool is None:
            pool = await create_pool_when_reachable(settings)
            stack.push_async_callback(pool.close)
        service = wire_metrics(
            settings, pool=pool, broker=broker, registry=registry, board=board, definitions=definitions, clock=clock
        )
        await stack.enter_async_context(service.running())
        yield service


class Overrides(TypedDict, total=False):
    """Parts of the service a caller (a test) may supply instead of the built ones."""

    pool: asyncpg.Pool[Any]
    definitions: Sequence[KpiDefinition]
    clock: Callable[[], datetime]


def create_app(
    settings: MetricsSettings, *, serve_while_connecting: bool = False, **overrides: Unpack[Overrides]
) -> FastAPI:
    """The metrics service as an ASGI app; `build_metrics` connects and runs it in the app's lifespan.

    PostgreSQL and Kafka are waited for (retried with backoff); with serve_while_connecting (`metrics serve`) the
    lifespan returns at once and /readyz answers 503 until they are reached, else it returns once they are.
    """
    registry = CollectorRegistry()
    board = SnapshotBoard()
    broker = build_broker(settings, registry=registry)

    @asynccontextmanager
    async def serving(app: FastAPI) -> AsyncIterator[MetricsService]:
        async with build_metrics(settings, broker=broker, registry=registry, board=board, **overrides) as service:
            # Routes that need the pool exist only while the service runs: they come with it.
            app.include_router(
                backlog_router(service.backlog, pool=service.pool, clock=service.backlog_refresher.clock)
            )
            app.include_router(index766_router(service.index766))
            app.include_router(report_router(service.index766, definitions=service.definitions))
            parts = BoardParts(
                settings=settings, board=service.board, metrics=service.metrics, pool=service.pool,
                definitions=service.definitions,
                clock=service.backlog_refresher.clock,
            )  # fmt: skip
            async with board_routes(parts) as routers:
                for router in routers:
                    app.include_router(router)
                yield service

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # PostgreSQL or Kafka not there yet: /readyz answers 503 until they are (shared/startup.py).
        async with BackgroundStart(lambda: serving(app), what="metrics") as start:
            checks = {
                "kafka": start.guard(lambda service: kafka_check(service.broker)()),
                "postgres": start.guard(lambda service: postgres_check(service.pool)()),
            }
            app.include_router(ops_router(registry=registry, checks=checks))
            if not serve_while_connecting:
                await start.wait_started()
            yield

    app = FastAPI(title="CivicPulse metrics", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(kpi_router(board))
    return app
