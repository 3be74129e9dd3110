"""`civicpulse metrics ...`: run the metrics service, print the KPI table."""

from __future__ import annotations

import asyncio
import gc
from typing import Annotated

import typer
import uvicorn

from services.metrics.settings import MetricsSettings
from shared.logs import configure_logging
from shared.startup import configuration_errors, load_settings

app = typer.Typer(no_args_is_help=True, help="The metrics service.")


@app.command()
def serve() -> None:
    """Consume events, keep KPIs in PostgreSQL, serve /v1/kpis and /metrics."""
    from services.metrics.main import create_app

    with configuration_errors("metrics", OSError, ValueError):
        settings = load_settings(MetricsSettings)
        configure_logging(level=settings.log_level, fmt=settings.log_format, service="metrics")
        application = create_app(settings, serve_while_connecting=True)
    # Counting allocates millions of short-lived, acyclic objects (parsed events, rows) that reference counting
    # frees; the cyclic collector scanning them at CPython's default pace took ~28% of a catch-up (profiled).
    # Objects built at start-up are frozen out of collections; generation 0 is collected 100x less often.
    gc.freeze()
    gc.set_threshold(70_000, 20, 20)
    uvicorn.run(application, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False)


@app.command()
def status(
    unit: Annotated[str, typer.Option(help="Unit code.")] = "H24",
    window: Annotated[str, typer.Option(help="Window: 1d, 7d, 30d, mtd, qtd, ytd.")] = "30d",
) -> None:
    """The current KPI table of a unit, with each target beside its value."""
    from services.metrics.status import print_status

    asyncio.run(print_status(MetricsSettings(), unit=unit, window=window))


@app.command("index")
def index766(
    unit: Annotated[str, typer.Option(help="Unit code.")] = "H24",
    period: Annotated[str, typer.Option(help="Month YYYY-MM, quarter YYYY-Qn or year YYYY (Vietnam time).")] = "",
    url: Annotated[
        str, typer.Option(envvar="CIVICPULSE_METRICS_URL", help="Base URL of the metrics API.")
    ] = "http://127.0.0.1:8002",
) -> None:
    """A unit's Decision 766 scorecard for a period (this month if none), read from the metrics API."""
    import httpx

    from services.metrics.scorecard import print_scorecard, this_month

    async def run() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            await print_scorecard(client, unit=unit, period=period or this_month())

    try:
        asyncio.run(run())
    except httpx.HTTPError as error:
        typer.secho(f"the metrics API at {url} did not answer: {error!r}", fg="red", err=True)
        raise typer.Exit(1) from error
