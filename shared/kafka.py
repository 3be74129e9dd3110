"""FastStream Kafka broker built from settings: security, Prometheus middleware, durable producer; commit or rewind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from prometheus_client import CollectorRegistry

from shared.retry import Backoff
from shared.settings import KafkaSettings
from shared.startup import until_connected

log = logging.getLogger(__name__)


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
    """FastStream's security object for the configured SASL/SSL options."""
    use_ssl = settings.kafka_security_protocol in ("SSL", "SASL_SSL")
    context = ssl.create_default_context(cafile=str(settings.kafka_ssl_cafile)) if use_ssl else None
    if not settings.kafka_sasl_mechanism:
        return BaseSecurity(ssl_context=context, use_ssl=use_ssl) if use_ssl else None
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    kinds: dict[str, Any] = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    kind = kinds.get(settings.kafka_sasl_mechanism.upper())
    if kind is None:
        raise ValueError(f"unsupported SASL mechanism {settings.kafka_sasl_mechanism!r}; use one of {sorted(kinds)}")
    security: BaseSecurity = kind(
        username=settings.kafka_sasl_username or "", password=password, ssl_context=context, use_ssl=use_ssl
    )
    return security


def create_broker(
    settings: KafkaSettings, *, registry: CollectorRegistry, app_name: str, **producer_options: Any
) -> KafkaBroker:
    """A broker whose producer waits for all in-sync replicas and keeps each partition's records in order.

    Not idempotent, on purpose. aiokafka's idempotent producer (0.14) numbers a batch when it leaves the
    accumulator; a batch that expires while its partition has no leader (as for a moment after every broker
    restart) is failed with its number spent, and from then on the broker refuses every later batch of that
    partition with OutOfOrderSequenceNumber, for the life of the producer (aiokafka has no epoch bump).
    `tests/integration/test_producer_recovery.py` reproduced it 3 runs of 3 with idempotence on. Without it a retry
    after a lost acknowledgement may write a record twice, which every reader already absorbs: events and raw
    records carry their ids (counted once), snapshots are the latest value per key, and a rewound batch resends its
    dead letters anyway. Order per partition holds: aiokafka keeps one produce request in flight per broker and
    puts a retried batch back at the head of its partition's queue.

    It stamps no `correlation_id` header on what it publishes: our records carry their own ids (event id,
    change id), and a dead letter must keep exactly the original record's headers.
    """
    options: dict[str, Any] = {"acks": "all", "enable_idempotence": False, "request_timeout_ms": 15_000}
    options.update(producer_options)
    return KafkaBroker(
        settings.kafka_bootstrap,
        security=broker_security(settings),
        client_id=f"{settings.kafka_client_id}-{app_name}",
        middlewares=[KafkaPrometheusMiddleware(registry=registry, app_name=app_name, metrics_prefix="faststream")],
        # Through our JSON handler; per-message "Received/Processed" lines only at DEBUG.
        logger=logging.getLogger(f"civicpulse.{app_name}.broker"),
        log_level=logging.DEBUG,
        id_generator=_no_correlation_id,
        **options,
    )


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


async def kafka_answers(settings: KafkaSettings, *, timeout_s: float = 10.0) -> None:
    """Fetch cluster metadata with a bare client; raise if Kafka does not answer (a start-up probe).

    aiokafka logs each failed connection at ERROR; while probing, the caller's one line per attempt says it.
    """
    from aiokafka.client import AIOKafkaClient

    quiet = _Quiet()
    loggers = [logging.getLogger(name) for name in ("aiokafka", "aiokafka.conn")]
    for logger in loggers:
        logger.addFilter(quiet)
    client = AIOKafkaClient(**settings.aiokafka_options(), request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
    finally:
        await client.close()
        for logger in loggers:
            logger.removeFilter(quiet)


def _no_correlation_id() -> str:
    return ""  # FastStream adds the header only for a non-empty id


@asynccontextmanager
async def commit_or_rewind(message: KafkaMessage, *, backoff: Backoff) -> AsyncIterator[None]:
    """Commit a consumed batch only if the block succeeds; otherwise rewind it and wait the backoff's delay.

    For subscribers with `AckPolicy.MANUAL`: nothing is committed past a record whose outcome is not durable.
    Cancelled at shutdown, the batch is rewound and nothing committed; the next owner processes it.
    `backoff` is the subscriber's own: it counts consecutive failures of its batches.
    """
    try:
        yield
    except asyncio.CancelledError:
        await message.nack()
        raise
    except Exception:
        await message.nack()
        delay = backoff.failed()
        log.warning("batch failed; it will be delivered again in %.1fs", delay, exc_info=True)
        await asyncio.sleep(delay)
        raise
    await message.ack()
    backoff.succeeded()


async def start_broker(broker: KafkaBroker, settings: KafkaSettings) -> None:
    """Start the broker once Kafka answers: retried with backoff, one log line per attempt (shared/startup.py)."""

    async def attempt() -> None:
        await kafka_answers(settings)
        try:
            await broker.start()
        except Exception:
            with contextlib.suppress(Exception):  # drop what a half-made connection left before trying again
                await broker.stop()
            raise

    await until_connected(attempt, server="kafka", where=settings.kafka_bootstrap)
