"""The national portal's own dialect: `POST /v1/dvcqg/DongBoHoSoMC`, so a provincial system mirrors its sync by
changing only the host of the URL it already posts to.

Body: `{"isUpdating": bool, "service": "DongBoHoSoMC", "data": [records]}` or a bare array of records; query
parameters `MaDinhDanhDV` (the sending agency, used for records whose dossier-code prefix is no known unit)
and `isUpdating` (accepted and ignored: events are idempotent, so an update and a first sync are the same).
Authentication: `Authorization: Bearer <token>` like every write API; events carry the token's source.

Replies are the portal's: `{"error_code": 0, "message": ...}` with HTTP 200 on success (every event acknowledged
by Kafka), else a non-zero `error_code` with the reason (which record, which field) and the HTTP status the
other write APIs use, so both a sender that reads `error_code` and one that checks the status see the failure.
`detail` repeats the message for HTTP clients. 3 and -3 ("already exists") are never sent: a re-sent record
is a duplicate, not a conflict, so senders never switch to updating.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from services.ingest.api import JSON, SENDER_UNIT_PARAMETER, RequestReader, publish
from services.ingest.auth import Credentials
from services.ingest.core.adapters import Adapter, AdapterContext, AdapterError, Delivery, Problem
from services.ingest.core.validation import MAX_PROBLEMS, future_problems
from services.ingest.intake import Intake
from services.ingest.responses import ProblemOut
from services.ingest.settings import IngestSettings

SERVICE: Final = "DongBoHoSoMC"
ERROR_CODES: Final = {422: 1, 401: 2, 413: 4, 415: 5, 429: 6, 503: 7, 403: 8}
"""`error_code` by HTTP status; 3 and -3 mean "already exists" on the portal and are avoided."""
MAX_LISTED: Final = 20


class PortalReply(BaseModel):
    """The portal's reply: 0 and a message on success, a non-zero code and the reason otherwise."""

    error_code: int = Field(description="0 on success; 1 invalid, 2 unauthenticated, 4 too large, 5 content type, "
                                        "6 rate limited, 7 unavailable, 8 forbidden.")  # fmt: skip
    message: str
    detail: str | None = Field(default=None, description="The message again, for HTTP clients (errors only).")
    accepted: int | None = Field(default=None, description="Events published (success only).")
    event_ids: list[str] | None = None
    problems: list[ProblemOut] | None = Field(default=None, description="Each bad field (invalid records only).")


def reply(
    status: int, message: str, *, headers: Mapping[str, str] | None = None, problems: list[Problem] | None = None
) -> JSONResponse:
    """A dialect error reply."""
    listed = None if problems is None else [ProblemOut(index=p.index, path=list(p.path), message=p.message)
                                            for p in problems[:MAX_PROBLEMS]]  # fmt: skip
    body = PortalReply(error_code=ERROR_CODES.get(status, 1), message=message, detail=message)
    content = body.model_dump(exclude_none=True)
    if listed is not None:  # each problem keeps its null index (the whole body), as /v1/events lists it
        content["problems"] = [problem.model_dump() for problem in listed]
    return JSONResponse(content, status_code=status, headers=headers)


def describe(problems: list[Problem]) -> str:
    """Which record, which field, why: the first problems in one line (values of personal fields never appear)."""
    parts = []
    for p in problems[:MAX_LISTED]:
        where = "body" if p.index is None else f"record {p.index}" + (f" (MaHoSo {p.record})" if p.record else "")
        field = ".".join(map(str, p.path))
        parts.append(f"{where}{': ' + field if field else ''}: {p.message}")
    more = f"; and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return f"{len(problems)} problem(s), nothing was accepted: " + "; ".join(parts) + more


def records_payload(document: Any) -> Any:
    """The records of a dialect body; a `service` other than DongBoHoSoMC is refused."""
    if isinstance(document, dict) and document.get("service") not in (None, "", SERVICE):
        raise AdapterError([Problem(None, ("service",), f"expected {SERVICE!r}")])
    return document


def dialect_router(
    *,
    settings: IngestSettings,
    credentials: Credentials,
    intake: Intake,
    adapter: Adapter,
    adapter_context: AdapterContext,
    clock: Callable[[], datetime],
) -> APIRouter:
    """`POST /v1/dvcqg/DongBoHoSoMC`: the national-portal sync, in the portal's envelope and replies."""
    router = APIRouter(prefix="/v1/dvcqg")
    reader = RequestReader(max_body_bytes=settings.ingest_max_body_bytes)
    bearer = HTTPBearer(auto_error=False, description="A token of the sending source.")
    max_events, tolerance = settings.ingest_max_batch_events, settings.ingest_future_tolerance

    async def sync(
        request: Request, token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> JSONResponse:
        """Translate DongBoHoSoMC records to canonical events and publish them (all or none)."""
        source = credentials.source_of(token.credentials) if token is not None else None
        if source is None:
            return reply(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
        try:
            reader.media_type(request, JSON)
            raw = await reader.body(request)
            delivery = Delivery(source=source, received_at=clock(),
                                sender_unit=request.query_params.get(SENDER_UNIT_PARAMETER) or None)  # fmt: skip
            try:
                events = adapter.translate(records_payload(orjson.loads(raw)), delivery=delivery,
                                           context=adapter_context)  # fmt: skip
            except orjson.JSONDecodeError as exc:
                problems = [Problem(None, (), f"invalid JSON: {exc}")]
            except AdapterError as exc:
                problems = exc.problems
            else:
                if len(events) > max_events:
                    return reply(413, f"{len(events)} events, more than {max_events}")
                problems = future_problems(enumerate(events), now=delivery.received_at, tolerance=tolerance)
                if not problems:
                    accepted = await publish(intake, events, source=source, via="dvcqg",
                                             retry_after_s=settings.ingest_retry_after_s)  # fmt: skip
                    body = PortalReply(
                        error_code=0, message=f"OK: {accepted.accepted} event(s) accepted",
                        accepted=accepted.accepted, event_ids=[str(i) for i in accepted.event_ids],
                    )  # fmt: skip
                    return JSONResponse(body.model_dump(exclude_none=True), status_code=200)
            intake.reject_invalid(len({p.index for p in problems}), caller=source, intake="dvcqg")
            return reply(422, describe(problems), problems=problems)
        except HTTPException as exc:
            return reply(exc.status_code, str(exc.detail), headers=exc.headers)

    router.add_api_route(
        f"/{SERVICE}", sync, methods=["POST"], response_model=PortalReply,
        summary="National-portal dossier sync in the portal's own dialect",
        responses={code: {"model": PortalReply, "description": "error_code says why"}
                   for code in (401, 413, 415, 422, 429, 503)},
        openapi_extra={"requestBody": {"content": {JSON: {"schema": {}}}, "required": True},
                       "parameters": [{"name": SENDER_UNIT_PARAMETER, "in": "query", "required": False,
                                       "schema": {"type": "string"}, "description": "The sending agency's code."},
                                      {"name": "isUpdating", "in": "query", "required": False,
                                       "schema": {"type": "string"}, "description": "Accepted and ignored."}]},
    )  # fmt: skip
    return router
