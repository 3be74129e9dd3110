"""What every service's HTTP side has: /healthz, /readyz with dependency checks, /metrics from its own registry."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

if TYPE_CHECKING:
    import asyncpg
    from faststream.kafka import KafkaBroker

log = logging.getLogger(__name__)
ReadinessCheck = Callable[[], Awaitable[bool]]


def postgres_check(pool: asyncpg.Pool[Any]) -> ReadinessCheck:
    """Ready while the pool answers `SELECT 1`."""

    async def postgres_ready() -> bool:
        return bool(await pool.fetchval("SELECT 1") == 1)

    return postgres_ready


def kafka_check(broker: KafkaBroker, *, timeout_s: float = 1.0) -> ReadinessCheck:
    """Ready while the broker reaches Kafka within timeout_s."""

    async def kafka_ready() -> bool:
        return await broker.ping(timeout=timeout_s)

    return kafka_ready


def ops_router(*, registry: CollectorRegistry, checks: Mapping[str, ReadinessCheck], timeout: float = 2.0) -> APIRouter:
    """Liveness, readiness (each named check must pass within timeout) and Prometheus exposition."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                ok = await asyncio.wait_for(check(), timeout)
            except Exception:  # a failing dependency makes us unready; it must not make /readyz a 500
                log.warning("readiness check failed", extra={"check": name}, exc_info=True)
                ok = False
            results[name] = "ok" if ok else "failing"
        ready = all(v == "ok" for v in results.values())
        return JSONResponse({"status": "ready" if ready else "unready", "checks": results}, 200 if ready else 503)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def _json_safe(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, minus echoed inputs JSON can't carry (NaN, Infinity: the default handler 500s on them)."""
    assert isinstance(exc, RequestValidationError)
    detail = []
    for error in exc.errors():
        entry = {k: v for k, v in error.items() if k not in ("input", "ctx", "url")}
        if _json_safe(error.get("input")):
            entry["input"] = error.get("input")
        detail.append(entry)
    return JSONResponse({"detail": detail}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Request validation errors answer 422 with what and where, whatever the input."""
    app.add_exception_handler(RequestValidationError, _validation_error)
