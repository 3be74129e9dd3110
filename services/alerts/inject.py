"""The one place the alerts service is built: `build_alerts(settings, **overrides)` wires every part.

The app (services/alerts/main.py), the AsyncAPI document (services/alerts/asyncapi.py) and the tests all build it
here, overriding what they bring themselves: a pool, a store, a producer, a clock, rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from services.alerts.consumer import register_consumer
from services.alerts.core.ruleset import RuleSet
from services.alerts.database import Database
from services.alerts.delivery.alertmanager import AlertmanagerResender
from services.alerts.delivery.base import Receivers
from services.alerts.delivery.registry import build_deliverers
from services.alerts.digest import DigestScheduler
from services.alerts.dispatcher import Dispatcher, DispatchOptions
from services.alerts.engine import AlertEngine, EngineOptions, utc_now
from services.alerts.grouper import Grouper
from services.alerts.ports import AlertsStorage
from services.alerts.rules_source import RulesWatcher, load_ruleset
from services.alerts.settings import AlertsSettings
from services.alerts.store import PostgresStorage
from services.alerts.telemetry import AlertsCollector, AlertsMetrics
from shared.alert_changes import AlertChange
from shared.kafka import create_broker, start_broker
from shared.producer import RecordProducer, RecordSink, TopicPartitions

APP_NAME = "alerts"


def build_broker(settings: AlertsSettings, *, registry: CollectorRegistry) -> KafkaBroker:
    """The service's broker, with the topic it writes documented for AsyncAPI (the subscriber comes later)."""
    broker = create_broker(settings, registry=registry, app_name=APP_NAME)
    broker.publisher(
        settings.topic_alerts,
        title="alert-changes",
        schema=AlertChange,
        description="Every alert state change (shared/alert_changes.py), key = alert id, header "
        "x-civicpulse-change-id = the change's stable id; delivered at least once from the outbox.",
    )
    return broker


def dispatch_options(settings: AlertsSettings) -> DispatchOptions:
    """The dispatcher's part of the settings."""
    return DispatchOptions(
        poll_s=settings.alerts_dispatch_poll_s,
        batch=settings.alerts_dispatch_batch,
        max_attempts=settings.alerts_dispatch_max_attempts,
        backoff_base_s=settings.alerts_dispatch_backoff_base_s,
        backoff_max_s=settings.alerts_dispatch_backoff_max_s,
        lease_s=settings.alerts_dispatch_lease_s,
        retention_s=settings.alerts_outbox_retention_days * 86400,
    )


class Alerts:
    """The alerts service's parts, wired. `async with` opens what it was not given (the PostgreSQL pool, the HTTP
    client) and closes it after; `running()` evaluates, consumes snapshots and runs the background loops."""

    def __init__(
        self,
        *,
        settings: AlertsSettings,
        environ: Mapping[str, str],
        clock: Callable[[], datetime],
        registry: CollectorRegistry,
        metrics: AlertsMetrics,
        broker: KafkaBroker,
        producer: RecordSink,
        storage: AlertsStorage,
        client: httpx.AsyncClient,
        receivers: Receivers,
        engine: AlertEngine,
        dispatcher: Dispatcher,
        resender: AlertmanagerResender,
        digests: DigestScheduler,
        resources: Sequence[AbstractAsyncContextManager[Any]],
    ) -> None:
        self.settings = settings
        self.environ = environ
        self.clock = clock
        self.registry = registry
        self.metrics = metrics
        self.broker = broker
        self.producer = producer
        self.storage = storage
        self.client = client
        self.receivers = receivers
        self.engine = engine
        self.dispatcher = dispatcher
        self.resender = resender
        self.digests = digests
        self.watcher = RulesWatcher(
            rules_file=settings.alerts_rules_file,
            receivers_file=settings.alerts_receivers_file,
            apply=self.apply_rules,
            poll_s=settings.alerts_rules_poll_s,
            environ=environ,
            on_outcome=metrics.rules_reloaded,
        )
        self._resources = resources
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Alerts:
        for resource in self._resources:
            await self._stack.enter_async_context(resource)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    async def apply_rules(self, rules: RuleSet) -> None:
        """A reloaded rules file: the engine keeps every alert; receivers are rebuilt."""
        rules = rules.scaled(self.settings.alerts_time_scale)
        await self.engine.reload(rules)
        self.receivers.current = build_deliverers(
            rules,
            client=self.client,
            environ=self.environ,
            changes=self.producer,
            changes_topic=self.settings.topic_alerts,
            clock=self.clock,
        )

    async def kafka_ready(self) -> bool:
        """Whether the broker answers (readiness)."""
        return await self.broker.ping(timeout=1.0)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Evaluate what is known, start consuming, then the background loops; SIGHUP reloads the rules."""
        await self.engine.start()
        await start_broker(self.broker, self.settings)  # retried until Kafka answers
        jobs = {
            "alerts-timer": self.engine.run(interval=self.settings.alerts_eval_interval_s),
            "alerts-dispatcher": self.dispatcher.run(),
            "alerts-resender": self.resender.run(),
            "alerts-digests": self.digests.run(period=self.settings.alerts_digest_poll_s),
            "alerts-rules-watcher": self.watcher.run(),
        }
        tasks = [asyncio.create_task(job, name=name) for name, job in jobs.items()]
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, self.watcher.request_reload)
        try:
            yield
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGHUP)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.broker.stop()


def build_alerts(
    settings: AlertsSettings,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = utc_now,
    rules: RuleSet | None = None,
    registry: CollectorRegistry | None = None,
    broker: KafkaBroker | None = None,
    producer: RecordSink | None = None,
    pool: asyncpg.Pool[Any] | None = None,
    storage: AlertsStorage | None = None,
    client: httpx.AsyncClient | None = None,
) -> Alerts:
    """Every part of the service from its settings; connects to nothing (`async with` the result does).

    Raises RulesError for an invalid rules file or a receiver secret missing from `environ`.
    """
    environ = os.environ if environ is None else environ
    if rules is None:
        rules = load_ruleset(settings.alerts_rules_file, receivers_file=settings.alerts_receivers_file, environ=environ)
    rules = rules.scaled(settings.alerts_time_scale)
    registry = registry if registry is not None else CollectorRegistry()
    metrics = AlertsMetrics.create(registry)
    broker = broker if broker is not None else build_broker(settings, registry=registry)
    # The dispatcher gives a delivery half its lease; the producer's deadline is the same.
    producer = (
        producer
        if producer is not None
        else RecordProducer(
            broker, timeout_s=settings.alerts_dispatch_lease_s / 2, partitions=TopicPartitions(settings)
        )
    )
    resources: list[AbstractAsyncContextManager[Any]] = []
    if storage is None:
        database = Database(pool)
        if pool is None:
            resources.append(database.connected(settings))
        storage = PostgresStorage(database)
    if client is None:
        client = httpx.AsyncClient()
        resources.append(client)
    engine = AlertEngine(
        storage=storage,
        rules=rules,
        options=EngineOptions(
            repeat_interval=timedelta(seconds=settings.alerts_repeat_interval_s),
            runbook_base_url=settings.alerts_runbook_base_url,
        ),
        metrics=metrics,
        clock=clock,
    )
    receivers = Receivers(
        build_deliverers(
            rules, client=client, environ=environ, changes=producer, changes_topic=settings.topic_alerts, clock=clock
        )
    )
    dispatcher = Dispatcher(
        outbox=storage.outbox,
        receivers=receivers,
        options=dispatch_options(settings),
        metrics=metrics,
        transient_errors=storage.transient_errors,
        clock=clock,
        grouper=Grouper(outbox=storage.outbox, known=engine, clock=clock),
    )
    register_consumer(broker, settings=settings, engine=engine, metrics=metrics)
    registry.register(AlertsCollector(known=engine, outbox=dispatcher))
    return Alerts(
        settings=settings,
        environ=environ,
        clock=clock,
        registry=registry,
        metrics=metrics,
        broker=broker,
        producer=producer,
        storage=storage,
        client=client,
        receivers=receivers,
        engine=engine,
        dispatcher=dispatcher,
        resender=AlertmanagerResender(receivers=receivers, known=engine, clock=clock),
        digests=DigestScheduler(
            digests=storage.digests, known=engine, clock=clock, transient_errors=storage.transient_errors
        ),
        resources=resources,
    )
