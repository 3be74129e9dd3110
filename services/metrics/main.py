"""Builds the metrics service: consumer, snapshot refresher, HTTP API, Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import yaml
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.metrics.api import kpi_router
from services.metrics.consumer import register_consumer
from services.metrics.core.kpis import KpiDefinition, kpi_definitions
from services.metrics.refresher import SnapshotBoard, SnapshotRefresher
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import KpiCollector, PipelineMetrics
from shared.db import create_pool
from shared.http import install_error_handlers, ops_router
from shared.kafka import create_broker
from shared.snapshots import KpiSnapshot, snapshot_adapter


def load_definitions(settings: MetricsSettings) -> tuple[KpiDefinition, ...]:
    """Default KPI definitions, with the variants file's replacing them by name."""
    if settings.metrics_kpi_variants_file is None:
        return kpi_definitions()
    raw = yaml.safe_load(settings.metrics_kpi_variants_file.read_text("utf-8")) or {}
    variants = {name: KpiDefinition(name=name, **spec) for name, spec in raw.items()}
    return kpi_definitions(variants)


def create_app(settings: MetricsSettings) -> FastAPI:
    """The metrics service as an ASGI app; connections open in its lifespan, not here."""
    registry = CollectorRegistry()
    metrics = PipelineMetrics.create(registry)
    board = SnapshotBoard()
    definitions = load_definitions(settings)
    registry.register(
        KpiCollector(
            snapshots=lambda: board.current,
            source_activity=lambda: board.source_activity,
            levels=frozenset(settings.metrics_levels),
        )
    )
    broker = create_broker(settings, registry=registry, app_name="metrics")
    state: dict[str, Any] = {}

    async def publish(snapshots: Sequence[KpiSnapshot]) -> None:
        # Tens of thousands at a full refresh: straight to the producer's batches, then wait for all acks.
        producer: AIOKafkaProducer = state["producer"]
        pending = [
            await producer.send(
                settings.topic_snapshots, snapshot_adapter.dump_json(s), key="|".join(s.scope).encode(),
                headers=[("content-type", b"application/json")],
            )
            for s in snapshots
        ]  # fmt: skip
        await asyncio.gather(*pending)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        state["pool"] = pool
        producer = AIOKafkaProducer(
            **settings.aiokafka_options(), client_id=f"{settings.kafka_client_id}-metrics-snapshots", acks="all",
            enable_idempotence=True, linger_ms=20, max_batch_size=256 * 1024,
        )  # fmt: skip
        await producer.start()
        state["producer"] = producer
        refresher = SnapshotRefresher(
            pool=pool, board=board, definitions=definitions, publish=publish, settings=settings, metrics=metrics
        )
        register_consumer(broker, settings=settings, pool=pool, refresher=refresher, metrics=metrics)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, refresher.reload_reference_data)
        task = asyncio.create_task(refresher.run(), name="snapshot-refresher")
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await producer.stop()
            await pool.close()

    async def postgres_ready() -> bool:
        pool = state.get("pool")
        return pool is not None and await pool.fetchval("SELECT 1") == 1

    async def kafka_ready() -> bool:
        return await broker.ping(timeout=1.0)

    app = FastAPI(title="CivicPulse metrics", version="0.1.0", lifespan=lifespan)

    install_error_handlers(app)
    app.include_router(kpi_router(board))
    app.include_router(ops_router(registry=registry, checks={"kafka": kafka_ready, "postgres": postgres_ready}))
    app.state.board = board
    app.state.broker = broker
    return app
