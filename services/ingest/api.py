"""HTTP routes: read and check the request, call validation and the intake, map outcomes to status codes.

No `from __future__ import annotations` here: FastAPI must see the per-app `caller` dependency in signatures.
"""

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.ingest.auth import Credentials
from services.ingest.core.adapters import Adapter, AdapterContext, AdapterError, Delivery, Problem, decode_form
from services.ingest.core.ratelimit import retry_after_header
from services.ingest.core.validation import (
    BatchTooLargeError,
    InvalidBatchError,
    future_problems,
    parse_batch,
)
from services.ingest.intake import ForeignSourceError, Intake, RateLimitedError
from services.ingest.responses import BatchAccepted, accepted, documented_errors, rejected
from services.ingest.settings import IngestSettings
from shared.events import Event
from shared.producer import KafkaUnavailable

JSON = "application/json"
NDJSON = "application/x-ndjson"
FORM = "application/x-www-form-urlencoded"
SENDER_UNIT_PARAMETER = "MaDinhDanhDV"
"""The query parameter national-portal senders name their agency by."""


class RequestReader:
    """Reads a request's content type and body within the configured limits (415, 413)."""

    def __init__(self, *, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes

    @staticmethod
    def media_type(request: Request, *allowed: str) -> str:
        """The request's media type, if allowed; 415 otherwise."""
        kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind not in allowed:
            raise HTTPException(415, f"content type must be {' or '.join(allowed)}")
        return kind

    async def body(self, request: Request) -> bytes:
        """The body, refused with 413 as soon as it is known to be too large."""
        limit = self.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, f"body larger than {limit} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"body larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def bearer_source(credentials: Credentials) -> Callable[..., Awaitable[str]]:
    """A dependency giving the caller's source from `Authorization: Bearer <token>`; 401 otherwise."""
    bearer = HTTPBearer(auto_error=False, description="A token of the sending source.")

    # async although it never awaits: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per
    # request that was ~15% of a one-event request's CPU (py-spy, bench/ingest.py).
    async def caller(token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
        source = credentials.source_of(token.credentials) if token is not None else None
        if source is None:
            raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
        return source

    return caller


async def publish(intake: Intake, events: list[Event], *, source: str, via: str, retry_after_s: int) -> BatchAccepted:
    """Hand the batch to the intake; map its refusals to 403, 429 and 503."""
    try:
        ids = await intake.accept(events, caller=source, intake=via)
    except ForeignSourceError as exc:
        raise HTTPException(403, str(exc)) from None
    except RateLimitedError as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": retry_after_header(exc.retry_after_s)}) from None
    except KafkaUnavailable:
        headers = {"Retry-After": str(retry_after_s)}
        raise HTTPException(503, "Kafka is unavailable; nothing was acknowledged", headers) from None
    return BatchAccepted(accepted=len(ids), event_ids=ids)


def ingest_router(
    *,
    settings: IngestSettings,
    credentials: Credentials,
    intake: Intake,
    adapters: Mapping[str, Adapter],
    adapter_context: AdapterContext,
    clock: Callable[[], datetime],
) -> APIRouter:
    """The write API: canonical batches and upstream formats, all behind a bearer token."""
    router = APIRouter(prefix="/v1")
    reader = RequestReader(max_body_bytes=settings.ingest_max_body_bytes)
    caller = Annotated[str, Depends(bearer_source(credentials))]
    max_events, tolerance, retry_after_s = (
        settings.ingest_max_batch_events, settings.ingest_future_tolerance, settings.ingest_retry_after_s
    )  # fmt: skip
    batch_body = {"content": {JSON: {"schema": {"$ref": "#/components/schemas/EventBatch"}},
                              NDJSON: {"schema": {"type": "string", "description": "One event per line."}}},
                  "required": True}  # fmt: skip

    @router.post(
        "/events", status_code=202, response_model=BatchAccepted, openapi_extra={"requestBody": batch_body},
        responses=documented_errors(401, 403, 413, 415, 422, 429, 503), summary="Publish a batch of canonical events",
    )  # fmt: skip
    async def post_events(request: Request, source: caller) -> Response:
        """Validate the batch as a whole; publish every event (or none) and answer once Kafka acknowledged all."""
        ndjson = reader.media_type(request, JSON, NDJSON) == NDJSON
        raw = await reader.body(request)
        try:
            events = parse_batch(raw, ndjson=ndjson, max_events=max_events, now=clock(), future_tolerance=tolerance)
        except BatchTooLargeError as exc:
            raise HTTPException(413, str(exc)) from None
        except InvalidBatchError as exc:
            intake.reject_invalid(exc.item_count, caller=source, intake="http")
            return rejected(exc.problems)
        return accepted(await publish(intake, events, source=source, via="http", retry_after_s=retry_after_s))

    def adapter_endpoint(name: str, adapter: Adapter) -> Callable[..., Awaitable[Response]]:
        async def post_upstream(request: Request, source: caller) -> Response:
            form = reader.media_type(request, *media_types(name)) == FORM
            raw = await reader.body(request)
            delivery = Delivery(source=source, received_at=clock(),
                                sender_unit=request.query_params.get(SENDER_UNIT_PARAMETER) or None)  # fmt: skip
            try:
                payload = decode_form(raw) if form else orjson.loads(raw)
                events = adapter.translate(payload, delivery=delivery, context=adapter_context)
            except orjson.JSONDecodeError as exc:
                problems = [Problem(None, (), f"invalid JSON: {exc}")]
            except AdapterError as exc:
                problems = exc.problems
            else:
                if len(events) > max_events:
                    raise HTTPException(413, f"{len(events)} events, more than {max_events}")
                problems = future_problems(enumerate(events), now=clock(), tolerance=tolerance)
                if not problems:
                    batch = await publish(intake, events, source=source, via=name, retry_after_s=retry_after_s)
                    return accepted(batch)
            intake.reject_invalid(len({p.index for p in problems}), caller=source, intake=name)
            return rejected(problems)

        post_upstream.__doc__ = f"Translate {name} records to canonical events and publish them (all or none)."
        return post_upstream

    for name, adapter in adapters.items():
        paths = [f"/adapters/{name}", *UPSTREAM_PATHS.get(name, ())]
        for path in paths:
            router.add_api_route(
                path, adapter_endpoint(name, adapter), methods=["POST"], status_code=202,
                response_model=BatchAccepted, responses=documented_errors(401, 413, 415, 422, 429, 503),
                summary=f"Publish records in the {name} upstream format",
                openapi_extra={"requestBody": {"content": {m: {"schema": {}} for m in media_types(name)},
                                               "required": True}},
            )  # fmt: skip
    return router


UPSTREAM_PATHS = {"emc": ("/emc/TrackingMCDT",)}
"""Where an upstream system posts too, so a sender changes only the host: EMC's own path."""


def media_types(adapter_name: str) -> tuple[str, ...]:
    """What an adapter endpoint accepts: JSON, and for EMC also the camelCase senders' form encoding."""
    return (JSON, FORM) if adapter_name == "emc" else (JSON,)
