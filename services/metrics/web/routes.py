"""The board's routes: the page at `/board/`, its static assets, and the JSON its panels read besides `/v1`."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import httpx
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field

from services.metrics.board import SnapshotBoard
from services.metrics.core.kpis import KpiDefinition
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import PipelineMetrics
from services.metrics.web import labels
from services.metrics.web.alerts_feed import AlertsFeed, BoardAlerts
from services.metrics.web.pipeline import PipelineHealth, pipeline_health
from services.metrics.web.tiles import KpiTile, kpi_tiles
from services.metrics.web.trend import trend_router
from services.metrics.web.units import UnitPlace, unit_place
from shared.events import CODE_PATTERN
from shared.kpi_catalogue import KPI_NAMES, VIETNAM, WindowName
from shared.targets import Targets, load_targets

STATIC = Path(__file__).parent / "static"
ALERTS_TIMEOUT_S = 2.0
UnitCode = Annotated[str, Query(max_length=64, pattern=CODE_PATTERN)]


def plotly_bundle() -> Path | None:
    """plotly.js as the plotly package ships it (pip installs it with the project): no CDN, no build step."""
    spec = importlib.util.find_spec("plotly")  # finds the package without importing it
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


ASSETS: dict[str, tuple[Callable[[], Path | None], str]] = {
    "board.css": (lambda: STATIC / "board.css", "text/css"),
    "board.js": (lambda: STATIC / "board.js", "text/javascript"),
    "plotly.min.js": (plotly_bundle, "text/javascript"),
}


class BoardTiles(BaseModel):
    """A unit's KPI tiles over a window."""

    unit_code: str
    unit_name: str | None
    level: str
    window: str
    computed_at: datetime | None
    tiles: list[KpiTile]


class Index766Panel(BaseModel):
    """The unit's Decision 766 scorecard for the current month, if the index has one."""

    endpoint: bool = Field(description="Whether the service has `/v1/index766` at all (else the panel hides).")
    available: bool
    period: str
    scorecard: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class BoardParts:
    """What the board reads: the service's in-memory figures, its pool, its clock and KPI definitions."""

    settings: MetricsSettings
    board: SnapshotBoard
    metrics: PipelineMetrics
    pool: asyncpg.Pool[Any]
    definitions: Sequence[KpiDefinition]
    clock: Callable[[], datetime]


def default_unit(parts: BoardParts) -> str | None:
    """The unit the board opens on: the configured one, else the first province that exists today."""
    if parts.settings.metrics_board_unit:
        return parts.settings.metrics_board_unit
    today = parts.clock().astimezone(VIETNAM).date()
    provinces = sorted(c for c, u in parts.board.units.items() if u.level == "province" and u.valid_on(today))
    return provinces[0] if provinces else None


def board_router(parts: BoardParts, *, alerts: AlertsFeed, targets: Targets) -> APIRouter:
    """The page, its assets and the board's own JSON (kept out of the public OpenAPI document)."""
    router = APIRouter(include_in_schema=False)
    environment = Environment(loader=PackageLoader("services.metrics.web", "templates"),
                              autoescape=select_autoescape(["html", "j2"]))  # fmt: skip
    templates = Jinja2Templates(env=environment)

    @router.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/board/")

    @router.get("/board")
    async def board_no_slash() -> RedirectResponse:
        return RedirectResponse("/board/")

    @router.get("/board/", response_class=HTMLResponse)
    async def page(request: Request, lang: str = "vi") -> Response:
        language: labels.Language = "en" if lang == "en" else "vi"
        words = labels.catalogue(language)
        config: dict[str, object] = {
            "lang": language,
            "defaultUnit": default_unit(parts),
            "refreshSeconds": parts.settings.metrics_board_refresh_s,
            "kpis": list(KPI_NAMES),
            "windows": [w.value for w in WindowName],
            "labels": words,
        }
        context = {"lang": language, "other": "vi" if language == "en" else "en", "config": config,
                   "m": words["messages"], "kpis": words["kpis"]}  # fmt: skip
        response = templates.TemplateResponse(request, "board.html.j2", context)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @router.get("/board/static/{name}")
    async def asset(name: str) -> FileResponse:
        found = ASSETS.get(name)
        path = found[0]() if found else None
        if found is None or path is None:
            raise HTTPException(status_code=404, detail=f"no asset {name!r}")
        return FileResponse(path, media_type=found[1], headers={"Cache-Control": "public, max-age=300"})

    @router.get("/board/api/tiles")
    async def tiles(unit: UnitCode, window: WindowName = WindowName.D30) -> BoardTiles:
        entry = parts.board.units.get(unit)
        current = parts.board.current
        scoped = [s for kpi in KPI_NAMES if (s := current.get((kpi, window.value, unit))) is not None]
        if entry is None and not scoped:
            raise HTTPException(status_code=404, detail=f"unknown unit {unit!r}")
        level = entry.level if entry else scoped[0].unit_level
        return BoardTiles(
            unit_code=unit,
            unit_name=entry.name if entry else None,
            level=level,
            window=window.value,
            computed_at=max((s.computed_at for s in scoped), default=None),
            tiles=kpi_tiles(current, unit=unit, level=level, window=window.value, targets=targets),
        )

    @router.get("/board/api/units/{code}")
    async def unit(code: Annotated[str, PathParam(max_length=64, pattern=CODE_PATTERN)]) -> UnitPlace:
        async with parts.pool.acquire() as connection:
            place = await unit_place(connection, code=code, today=parts.clock().astimezone(VIETNAM).date())
        if place is None:
            raise HTTPException(status_code=404, detail=f"unknown unit {code!r}")
        return place

    @router.get("/board/api/alerts")
    async def active_alerts() -> BoardAlerts:
        found = await alerts.active()
        for alert in found.items:
            entry = parts.board.units.get(alert.unit) if alert.unit else None
            alert.unit_name = entry.name if entry else None
        return found

    @router.get("/board/api/index766")
    async def index766(request: Request, unit: UnitCode) -> Index766Panel:
        # Through the service's own public endpoint, in process: the board needs only its HTTP contract, and
        # "no scorecard" (404) reaches the page as a value, not as a failed request in the browser's console.
        period = parts.clock().astimezone(VIETNAM).strftime("%Y-%m")  # GUESS: the wall shows the current month
        transport = httpx.ASGITransport(app=request.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://board") as client:
            response = await client.get("/v1/index766", params={"unit": unit, "period": period})
        if response.status_code != 200:
            missing = response.status_code == 404 and response.json().get("detail") == "Not Found"  # no such route
            return Index766Panel(endpoint=not missing, available=False, period=period, scorecard=None)
        return Index766Panel(endpoint=True, available=True, period=period, scorecard=response.json())

    @router.get("/board/api/pipeline")
    async def pipeline() -> PipelineHealth:
        return pipeline_health(metrics=parts.metrics, board=parts.board, now=parts.clock(),
                               quiet_threshold_s=parts.settings.metrics_board_source_quiet_s)  # fmt: skip

    return router


@asynccontextmanager
async def board_routes(parts: BoardParts, *, targets: Targets | None = None) -> AsyncIterator[list[APIRouter]]:
    """The board's routers, with the HTTP client its alerts panel reads through, open until the block ends."""
    url = parts.settings.metrics_board_alerts_url
    client = httpx.AsyncClient(base_url=url, timeout=ALERTS_TIMEOUT_S) if url else None
    try:
        feed = AlertsFeed(client)
        yield [
            board_router(parts, alerts=feed, targets=load_targets() if targets is None else targets),
            trend_router(pool=parts.pool, definitions=parts.definitions, clock=parts.clock),
        ]
    finally:
        if client is not None:
            await client.aclose()
