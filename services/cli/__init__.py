"""The `civicpulse` command line: dev stack, migrations, topics, reference data, services."""

from __future__ import annotations

import typer

from services.alerts.cli import app as alerts_app
from services.cli import admin, dev
from services.ingest.cli import app as ingest_app
from services.metrics.cli import app as metrics_app
from services.metrics.cli import index766 as index_scorecard
from services.metrics.cli import status as kpi_status
from services.simulator.cli import simulate

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(dev.app, name="dev")
app.add_typer(ingest_app, name="ingest")
app.add_typer(metrics_app, name="metrics")
app.command("status", help="The current KPI table of a unit (same as `metrics status`).")(kpi_status)
app.command("index", help="A unit's Decision 766 scorecard for a period (same as `metrics index`).")(index_scorecard)
app.command()(simulate)
app.add_typer(alerts_app, name="alerts")
admin.register(app)


def main() -> None:
    """Console entry point."""
    app()
