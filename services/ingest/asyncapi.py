"""The AsyncAPI document of the ingest service's topics: `faststream docs gen --factory services.ingest.asyncapi:app`.

Built from the default settings (topic names `civicpulse.events.raw`, `civicpulse.events`, `civicpulse.events.dlq`),
without connecting to Kafka; `docs/asyncapi/ingest.yaml` is the committed output.
"""

from __future__ import annotations

from faststream import FastStream
from faststream.specification import AsyncAPI
from prometheus_client import CollectorRegistry

from services.ingest.main import build_broker, utc_now
from services.ingest.metrics import IngestMetrics
from services.ingest.raw_intake import RawIntake, register_raw_intake
from services.ingest.settings import IngestSettings
from shared.producer import RecordProducer


def app() -> FastStream:
    """A FastStream app holding the ingest broker's subscriber and publishers, for documentation only."""
    settings = IngestSettings.model_construct()  # the defaults, whatever the environment says
    registry = CollectorRegistry()
    broker = build_broker(settings, registry=registry)
    publisher = RecordProducer(broker, timeout_s=settings.ingest_publish_timeout_s)
    intake = RawIntake(settings=settings, publisher=publisher, metrics=IngestMetrics(registry), clock=utc_now)
    register_raw_intake(broker, intake, settings=settings)
    specification = AsyncAPI(
        broker, title="CivicPulse ingest", version="1",
        description="Raw portal records in; canonical events and dead letters out.",
    )  # fmt: skip
    return FastStream(broker, specification=specification)
