"""FastStream Kafka broker built from settings: security, Prometheus middleware, durable producer."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from prometheus_client import CollectorRegistry

from shared.settings import KafkaSettings

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
    """A broker whose producer waits for all in-sync replicas and never writes a retried record twice."""
    options: dict[str, Any] = {"acks": "all", "enable_idempotence": True, "request_timeout_ms": 15_000}
    options.update(producer_options)
    return KafkaBroker(
        settings.kafka_bootstrap,
        security=broker_security(settings),
        client_id=f"{settings.kafka_client_id}-{app_name}",
        middlewares=[KafkaPrometheusMiddleware(registry=registry, app_name=app_name, metrics_prefix="faststream")],
        # Through our JSON handler; per-message "Received/Processed" lines only at DEBUG.
        logger=logging.getLogger(f"civicpulse.{app_name}.broker"),
        log_level=logging.DEBUG,
        **options,
    )


@asynccontextmanager
async def commit_or_rewind(message: KafkaMessage, *, retry_backoff_s: float) -> AsyncIterator[None]:
    """Commit a consumed batch only if the block succeeds; otherwise rewind it so it is delivered again.

    For subscribers with `AckPolicy.MANUAL`: nothing is committed past a record whose outcome is not durable.
    Cancelled at shutdown, the batch is rewound and nothing committed; the next owner processes it.
    """
    try:
        yield
    except asyncio.CancelledError:
        await message.nack()
        raise
    except Exception:
        await message.nack()
        log.warning("batch failed; it will be delivered again", exc_info=True)
        await asyncio.sleep(retry_backoff_s)
        raise
    await message.ack()
