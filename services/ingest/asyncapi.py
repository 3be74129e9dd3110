"""The AsyncAPI document of the ingest service's topics: `faststream docs gen --factory services.ingest.asyncapi:app`.

Built by the service's own composition root from the default settings (topic names `civicpulse.events.raw`,
`civicpulse.events`, `civicpulse.events.dlq`), without connecting to Kafka or reading reference data;
`docs/asyncapi/ingest.yaml` is the committed output.
"""

from __future__ import annotations

from faststream import FastStream
from faststream.specification import AsyncAPI

from services.ingest.auth import Credentials
from services.ingest.core.adapters import AdapterContext
from services.ingest.main import build_service
from services.ingest.settings import IngestSettings


def app() -> FastStream:
    """A FastStream app holding the ingest broker's subscriber and publishers, for documentation only."""
    settings = IngestSettings.model_construct()  # the defaults, whatever the environment says
    service = build_service(
        settings, credentials=Credentials.development(), adapter_context=AdapterContext.from_mapping({})
    )
    specification = AsyncAPI(
        service.broker, title="CivicPulse ingest", version="1",
        description="Raw portal records in; canonical events and dead letters out.",
    )  # fmt: skip
    return FastStream(service.broker, specification=specification)
