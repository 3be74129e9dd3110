"""The ingest service's own Prometheus metrics (FastStream's broker metrics live beside them in the same registry)."""

from __future__ import annotations

import collections
import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.events import Event

BATCH_BUCKETS = (0, 1, 10, 50, 100, 500, 1000, 2000, 5000)
UNKNOWN = "unknown"


class IngestMetrics:
    """Requests by route and status, events accepted and rejected, batch sizes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "civicpulse_ingest_http_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "civicpulse_ingest_http_request_duration_seconds",
            "HTTP request duration by route template.",
            ["route"],
            registry=registry,
        )
        self.accepted = Counter(
            "civicpulse_ingest_events_accepted",
            "Events acknowledged by Kafka, by source, type and intake (http, adapter name, raw).",
            ["source", "type", "intake"],
            registry=registry,
        )
        self.rejected = Counter(
            "civicpulse_ingest_events_rejected",
            "Events refused, by source, type, intake and reason.",
            ["source", "type", "intake", "reason"],
            registry=registry,
        )
        self.batch_size = Histogram(
            "civicpulse_ingest_batch_events",
            "Events per accepted or rejected batch, by intake.",
            ["intake"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )

    def count_accepted(self, events: Iterable[Event], *, source: str | None = None, intake: str) -> None:
        """Count events acknowledged by Kafka (source from each event unless given)."""
        counts = collections.Counter((source or event.source, event.type) for event in events)
        for (event_source, event_type), count in counts.items():
            self.accepted.labels(event_source, event_type, intake).inc(count)

    def count_rejected(self, count: int, *, source: str, intake: str, reason: str, type_: str = UNKNOWN) -> None:
        """Count `count` refused events of one type (unknown when they did not validate)."""
        if count > 0:
            self.rejected.labels(source, type_, intake, reason).inc(count)

    def count_rejected_events(self, events: Iterable[Event], *, source: str, intake: str, reason: str) -> None:
        """Count valid events refused as a batch (other source, rate limit, Kafka), by type."""
        for event_type, count in collections.Counter(event.type for event in events).items():
            self.count_rejected(count, source=source, intake=intake, reason=reason, type_=event_type)


class RequestMetricsMiddleware:
    """Pure ASGI middleware counting requests by route template (not raw path: bounded label values)."""

    def __init__(self, app: ASGIApp, *, metrics: IngestMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # The labelled children by (route, method, status): `labels()` takes a lock and builds them each time.
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            key = (_route_template(scope), scope["method"], str(status))
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    self.metrics.requests.labels(*key), self.metrics.latency.labels(key[0])
                )  # fmt: skip
            children[0].inc()
            children[1].observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    app = scope.get("app")
    for candidate in getattr(getattr(app, "router", None), "routes", ()):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return str(getattr(candidate, "path", UNKNOWN))
    return "unmatched"
