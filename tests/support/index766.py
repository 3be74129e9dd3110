"""Helpers of the Decision 766 index and report tests: events, a fixed clock, the metrics and ingest apps in-process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from services.ingest.auth import hash_token
from services.ingest.main import create_app as create_ingest
from services.ingest.settings import IngestSettings
from services.metrics.main import create_app as create_metrics
from services.metrics.settings import MetricsSettings
from shared.settings import KafkaSettings, TopicSettings

SOURCE, TOKEN = "portal-766", "token-766"


class Clock:
    """A clock the test sets."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def event(kind: str, at: datetime, unit: str, **fields: Any) -> dict[str, Any]:
    """A canonical event as JSON, the way a portal posts it."""
    return {"event_id": str(uuid.uuid4()), "type": kind, "occurred_at": at.isoformat(), "source": SOURCE,
            "unit_code": unit, **fields}  # fmt: skip


def received(at: datetime, unit: str, dossier: str, *, procedure: str = "1.0001", **fields: Any) -> dict[str, Any]:
    """A dossier.received event."""
    base = {"dossier_id": dossier, "procedure_code": procedure, "channel": "online", "service_level": "full_online",
            "essential": False, "digitized": True}  # fmt: skip
    return event("dossier.received", at, unit, **(base | fields))


def completed(at: datetime, unit: str, dossier: str, *, procedure: str = "1.0001", **fields: Any) -> dict[str, Any]:
    """A dossier.completed event (approved, electronic result)."""
    base = {"dossier_id": dossier, "procedure_code": procedure, "outcome": "approved", "result_channel": "online",
            "electronic_result": True}  # fmt: skip
    return event("dossier.completed", at, unit, **(base | fields))


def metrics_settings(kafka: KafkaSettings, topics: TopicSettings, pg_dsn: str, **extra: Any) -> MetricsSettings:
    """Settings of an in-process metrics service on this test's topics and database."""
    return MetricsSettings(
        **kafka.model_dump(), **topics.model_dump(), pg_dsn=pg_dsn, environment="test",
        metrics_group_id=f"metrics-{uuid.uuid4().hex[:6]}", metrics_snapshot_interval_s=0.2,
        metrics_snapshot_publish_interval_s=0.5,
        metrics_backlog_refresh_s=0.5, metrics_index766_refresh_s=0.5, **extra,
    )  # fmt: skip


@asynccontextmanager
async def metrics_client(settings: MetricsSettings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """The metrics service running in-process (consumer, refreshers, API)."""
    app = create_metrics(settings, clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics", timeout=60) as client,
    ):
        yield client


@asynccontextmanager
async def ingest_client(
    kafka: KafkaSettings, topics: TopicSettings, *, tmp_path: Path, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """The ingest API running in-process, with one source `SOURCE` whose bearer token is `TOKEN`."""
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(yaml.safe_dump({"sources": {SOURCE: {"tokens": [hash_token(TOKEN)]}}}))
    settings = IngestSettings(**kafka.model_dump(), **topics.model_dump(), environment="test",
                              ingest_tokens_file=tokens)  # fmt: skip
    app = create_ingest(settings, clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest", timeout=60) as client,
    ):
        yield client


async def post_events(client: httpx.AsyncClient, events: list[dict[str, Any]], *, batch: int = 1000) -> None:
    """POST events to /v1/events in batches; every batch must be accepted (202)."""
    for start in range(0, len(events), batch):
        response = await client.post("/v1/events", json=events[start : start + batch],
                                     headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert response.status_code == 202, response.text


async def counted_events(client: httpx.AsyncClient) -> int:
    """How many events the metrics service has counted (committed), from its /metrics."""
    text = (await client.get("/metrics")).text
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("civicpulse_events_processed_total{")))  # fmt: skip
