"""The OpenAPI document names the canonical event schemas, so `/docs` and fuzzers know the batch shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.events import event_list_adapter


def install_event_schemas(app: FastAPI, *, max_events: int) -> None:
    """Add `EventBatch` and the event models to the app's OpenAPI components (routes refer to them by $ref)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            batch = event_list_adapter.json_schema(ref_template="#/components/schemas/{model}")
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(batch.pop("$defs", {}))
            schemas["EventBatch"] = {**batch, "title": "EventBatch", "maxItems": max_events}
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
