"""HTTP API of silences: list them; create and delete them with the admin token."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Response, status
from pydantic import AwareDatetime, BaseModel, Field, ValidationError, field_validator, model_validator

from services.alerts.core.durations import Duration
from services.alerts.core.silences import NO_NUL, Matcher, Silence
from services.alerts.ports import AlertsStorage


class SilenceRequest(BaseModel):
    """A new silence: give `ends_at` or `duration`; `starts_at` defaults to now."""

    matchers: list[Matcher] = Field(min_length=1)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    duration: Duration | None = None
    author: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    comment: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:  # e.g. 9999-12-31T23:00-05:00: PostgreSQL would store it, Python cannot read it back
            raise ValueError("out of range once converted to UTC") from None

    @model_validator(mode="after")
    def _one_end(self) -> SilenceRequest:
        if (self.ends_at is None) == (self.duration is None):
            raise ValueError("give exactly one of ends_at and duration")
        return self


class SilenceList(BaseModel):
    """Silences in force or scheduled."""

    count: int
    items: list[Silence]


def silences_router(
    *,
    storage: AlertsStorage,
    clock: Callable[[], datetime],
    admin_token: str,
    changed: Callable[[], Awaitable[None]],
) -> APIRouter:
    """Routes over stored silences; writes need `Authorization: Bearer <admin token>`; `changed` follows each."""
    router = APIRouter(prefix="/v1/silences", tags=["silences"])

    def require_admin(authorization: Annotated[str | None, Header()] = None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "admin token required", headers={"WWW-Authenticate": "Bearer"}
            )
        if not hmac.compare_digest(token.encode(), admin_token.encode()):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong admin token")

    admin = [Depends(require_admin)]

    @router.get("")
    async def list_silences() -> SilenceList:
        """Silences not yet ended nor deleted."""
        items = await storage.silences.in_force(now=clock())
        return SilenceList(count=len(items), items=items)

    @router.post("", status_code=status.HTTP_201_CREATED, dependencies=admin)
    async def create_silence(request: SilenceRequest) -> Silence:
        """Mute notifications of alerts matching every matcher until `ends_at`."""
        now = clock()
        starts = request.starts_at or now
        try:
            ends = request.ends_at or starts + (request.duration or timedelta(0))
        except OverflowError:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the silence would end after 9999") from None
        try:
            silence = Silence(
                id=uuid.uuid4(),
                matchers=tuple(request.matchers),
                starts_at=starts,
                ends_at=ends,
                author=request.author,
                comment=request.comment,
            )
        except ValidationError as exc:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                exc.errors(include_url=False, include_input=False, include_context=False),
            ) from None
        if silence.ends_at <= max(now, silence.starts_at):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the silence would end before it starts")
        await storage.silences.add(silence, now=now)
        await changed()
        return silence

    @router.delete("/{silence_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=admin)
    async def delete_silence(silence_id: uuid.UUID) -> Response:
        """End a silence now."""
        if not await storage.silences.end(silence_id, now=clock()):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such silence in force")
        await changed()
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
