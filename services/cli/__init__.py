"""The `civicpulse` command line: dev stack, migrations, topics, reference data, services."""

from __future__ import annotations

import typer

from services.cli import admin, dev
from services.metrics.cli import app as metrics_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(dev.app, name="dev")
app.add_typer(metrics_app, name="metrics")
admin.register(app)


def main() -> None:
    """Console entry point."""
    app()
