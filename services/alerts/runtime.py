"""The running parts of the alerts service, started and stopped together by the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
from faststream.kafka import KafkaBroker

from services.alerts.consumer import register_consumer
from services.alerts.core.ruleset import RuleSet
from services.alerts.delivery.alertmanager import AlertmanagerDeliverer, AlertmanagerResender
from services.alerts.delivery.base import Deliverer
from services.alerts.delivery.registry import build_deliverers
from services.alerts.delivery.topic import PublishChange
from services.alerts.dispatcher import Dispatcher, DispatchOptions
from services.alerts.engine import AlertEngine, EngineOptions
from services.alerts.rules_source import RulesWatcher
from services.alerts.settings import AlertsSettings
from services.alerts.telemetry import AlertsMetrics


def dispatch_options(settings: AlertsSettings) -> DispatchOptions:
    """The dispatcher's part of the settings."""
    return DispatchOptions(
        poll_s=settings.alerts_dispatch_poll_s, batch=settings.alerts_dispatch_batch,
        max_attempts=settings.alerts_dispatch_max_attempts, backoff_base_s=settings.alerts_dispatch_backoff_base_s,
        backoff_max_s=settings.alerts_dispatch_backoff_max_s, lease_s=settings.alerts_dispatch_lease_s,
        retention_s=settings.alerts_outbox_retention_days * 86400,
    )  # fmt: skip


@dataclass
class AlertsRuntime:
    """Engine, dispatcher, Alertmanager resender and rules watcher over one pool, HTTP client and broker."""

    settings: AlertsSettings
    pool: asyncpg.Pool[Any]
    client: httpx.AsyncClient
    broker: KafkaBroker
    publish_change: PublishChange
    metrics: AlertsMetrics
    environ: Mapping[str, str]
    clock: Callable[[], datetime]
    rules: RuleSet
    engine: AlertEngine = field(init=False)
    dispatcher: Dispatcher = field(init=False)
    deliverers: Mapping[str, Deliverer] = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        options = EngineOptions(repeat_interval=timedelta(seconds=self.settings.alerts_repeat_interval_s),
                                runbook_base_url=self.settings.alerts_runbook_base_url)  # fmt: skip
        self.engine = AlertEngine(pool=self.pool, rules=self.rules, options=options, metrics=self.metrics,
                                  clock=self.clock)  # fmt: skip
        self.deliverers = self._build_deliverers(self.rules)
        self.dispatcher = Dispatcher(
            pool=self.pool, deliverers=lambda: self.deliverers, options=dispatch_options(self.settings),
            metrics=self.metrics, clock=self.clock,
        )  # fmt: skip

    def _build_deliverers(self, rules: RuleSet) -> Mapping[str, Deliverer]:
        return build_deliverers(rules, client=self.client, environ=self.environ, publish_change=self.publish_change,
                                clock=self.clock)  # fmt: skip

    async def apply_rules(self, rules: RuleSet) -> None:
        """A reloaded rules file: the engine keeps every alert; receivers are rebuilt."""
        await self.engine.reload(rules)
        self.deliverers = self._build_deliverers(rules)

    async def start(self) -> None:
        """Evaluate what is known, start consuming, then the background loops; SIGHUP reloads the rules."""
        settings = self.settings
        register_consumer(self.broker, settings=settings, engine=self.engine, metrics=self.metrics)
        await self.engine.start()
        await self.broker.start()
        watcher = RulesWatcher(
            rules_file=settings.alerts_rules_file, receivers_file=settings.alerts_receivers_file,
            apply=self.apply_rules, poll_s=settings.alerts_rules_poll_s, environ=self.environ,
            on_outcome=lambda outcome: self.metrics.rules_reloads.labels(outcome).inc(),
        )  # fmt: skip
        resender = AlertmanagerResender(
            deliverers=lambda: [d for d in self.deliverers.values() if isinstance(d, AlertmanagerDeliverer)],
            views=lambda: list(self.engine.views.values()), rules=lambda: self.engine.rules, clock=self.clock,
        )  # fmt: skip
        jobs = {
            "alerts-timer": self.engine.run(interval=settings.alerts_eval_interval_s),
            "alerts-dispatcher": self.dispatcher.run(),
            "alerts-resender": resender.run(),
            "alerts-rules-watcher": watcher.run(),
        }
        self._tasks = [asyncio.create_task(job, name=name) for name, job in jobs.items()]
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, watcher.request_reload)

    async def stop(self) -> None:
        """Cancel the loops and stop consuming (the pool and client belong to the caller)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.broker.stop()
