"""`civicpulse ingest`: run the ingest service, hash a bearer token for the tokens file."""

from __future__ import annotations

import gc
import sys
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
TOKENS_HINT = {
    "ingest_tokens_file": "point it at a YAML of sources and SHA-256 token hashes (README, Security; "
    "`civicpulse ingest hash-token` hashes one)"
}


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: CIVICPULSE_HTTP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: CIVICPULSE_HTTP_PORT, 8001).")] = None,
) -> None:
    """Serve the ingest API and consume the raw topic, configured from CIVICPULSE_* variables."""
    import uvicorn

    from services.ingest.auth import CredentialsError
    from services.ingest.main import create_app
    from services.ingest.settings import IngestSettings
    from shared.logs import configure_logging
    from shared.startup import ConfigurationError, configuration_errors, load_settings

    with configuration_errors("ingest", OSError, ValueError):
        settings = load_settings(IngestSettings, hints=TOKENS_HINT)
        configure_logging(level=settings.log_level, fmt=settings.log_format, service="ingest")
        try:
            application = create_app(settings, serve_while_connecting=True)
        except CredentialsError as exc:
            raise ConfigurationError(f"CIVICPULSE_INGEST_TOKENS_FILE: {exc}") from None
    # The start-up objects (FastAPI, pydantic schemas, reference data) are frozen out of cyclic collections: a
    # full collection scanned them all, ~55 ms each here (gc.callbacks), a stall for every request in flight.
    # Requests allocate short-lived, mostly acyclic objects that reference counting frees; generation 0 is
    # collected ~70x less often (young collections were ~3% of the CPU of 1- and 100-event requests).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    # loop="auto" and http="auto" are uvloop and httptools (declared in pyproject): ~25% less CPU per one-event
    # request than asyncio's loop and h11 (500-570 against 720-810 us, alternating runs; no change at 100 events).
    uvicorn.run(
        application,
        host=host or settings.http_host,
        port=port if port is not None else settings.http_port,
        log_config=None,  # keep the JSON logging configured above
        access_log=False,  # requests are counted in /metrics; access lines would only repeat them
        lifespan="on",
    )


@app.command("hash-token")
def hash_token_command() -> None:
    """Print the SHA-256 of a token read from stdin (or prompted for), to paste into the tokens file."""
    from services.ingest.auth import hash_token

    interactive = sys.stdin.isatty()
    token = typer.prompt("token", hide_input=True) if interactive else sys.stdin.readline().rstrip("\r\n")
    if not token:
        typer.echo("empty token", err=True)
        raise typer.Exit(2)
    typer.echo(hash_token(token))
