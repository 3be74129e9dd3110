"""Bodies the ingest API answers with, and the error statuses it documents in OpenAPI."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.ingest.core.adapters import Problem
from services.ingest.core.validation import MAX_PROBLEMS


class BatchAccepted(BaseModel):
    """Every event of the batch was acknowledged by Kafka."""

    accepted: int = Field(description="Number of events published.")
    event_ids: list[UUID] = Field(description="Their ids, in request order.")


class ProblemOut(BaseModel):
    """One bad field: the event's position in the batch (null for the whole body), the field path, why."""

    index: int | None
    path: list[str | int]
    message: str


class BatchRejected(BaseModel):
    """Nothing was published: the batch has problems."""

    detail: str
    problem_count: int = Field(description="All problems found; at most 1,000 are listed.")
    problems: list[ProblemOut]


class ErrorOut(BaseModel):
    """Why the request was refused."""

    detail: str


def accepted(batch: BatchAccepted) -> Response:
    """The 202 answer, serialised once by the model (FastAPI's response_model path would validate it again)."""
    return Response(batch.__pydantic_serializer__.to_json(batch), status_code=202, media_type="application/json")


def rejected(problems: list[Problem]) -> JSONResponse:
    """The 422 answer listing each problem."""
    body = BatchRejected(
        detail=f"batch rejected: {len(problems)} problem(s); nothing was published",
        problem_count=len(problems),
        problems=[ProblemOut(index=p.index, path=list(p.path), message=p.message) for p in problems[:MAX_PROBLEMS]],
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=422)


def documented_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given status codes."""
    described = {
        401: "Missing or invalid bearer token.", 403: "An event names another source than the token's.",
        413: "Body or batch too large.", 415: "Unsupported content type.", 422: "Invalid batch: nothing published.",
        429: "Source over its rate limit; see Retry-After.", 503: "Kafka did not acknowledge; see Retry-After.",
    }  # fmt: skip
    return {c: {"description": described[c], "model": BatchRejected if c == 422 else ErrorOut} for c in codes}
