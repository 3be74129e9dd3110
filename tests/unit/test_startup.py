"""Start-up helpers: configuration errors as one line naming the variables; connections retried with backoff, one
log line per attempt; a service started in the background, unready until it has started."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from services.ingest.settings import IngestSettings
from services.metrics.settings import MetricsSettings
from shared.startup import BackgroundStart, ConfigurationError, dsn_location, load_settings, until_connected

pytestmark = pytest.mark.unit


def test_a_model_validator_message_names_the_variables_and_the_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVICPULSE_ENVIRONMENT", "production")
    monkeypatch.delenv("CIVICPULSE_INGEST_TOKENS_FILE", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        load_settings(IngestSettings, hints={"ingest_tokens_file": "point it at a tokens file"})
    assert str(caught.value) == (
        "CIVICPULSE_INGEST_TOKENS_FILE must be set when CIVICPULSE_ENVIRONMENT is not development; "
        "point it at a tokens file"
    )


def test_each_bad_field_is_named_with_its_value_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVICPULSE_HTTP_PORT", "eighty")
    monkeypatch.setenv("CIVICPULSE_LOG_FORMAT", "xml")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(MetricsSettings)
    message = str(caught.value)
    assert "\n" not in message
    assert "CIVICPULSE_HTTP_PORT: Input should be a valid integer" in message
    assert "(got 'eighty')" in message
    assert "CIVICPULSE_LOG_FORMAT: Input should be 'json' or 'console' (got 'xml')" in message


def test_valid_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVICPULSE_HTTP_PORT", "9999")
    assert load_settings(MetricsSettings).http_port == 9999


def test_a_dsn_is_logged_without_its_credentials() -> None:
    assert dsn_location("postgresql://civicpulse:s3cret@db.internal:6432/civicpulse") == "db.internal:6432/civicpulse"
    assert dsn_location("postgresql://postgres@127.0.0.1/x") == "127.0.0.1:5432/x"


async def test_connect_is_retried_with_backoff_one_warning_per_attempt(caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[Exception | str] = [ConnectionRefusedError(111, "Connect call failed"), OSError("reset"), "pool"]
    slept: list[float] = []

    async def connect() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def sleep(delay: float) -> None:
        slept.append(delay)

    with caplog.at_level(logging.INFO, logger="civicpulse.startup"):
        assert await until_connected(connect, server="postgres", where="db:5432/x", sleep=sleep) == "pool"
    assert slept == [0.5, 1.0]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [(r.server, r.attempt, r.retry_in_s) for r in warnings] == [("postgres", 1, 0.5), ("postgres", 2, 1.0)]  # type: ignore[attr-defined]
    assert warnings[0].error == "ConnectionRefusedError: [Errno 111] Connect call failed"  # type: ignore[attr-defined]
    assert all(r.exc_info is None for r in caplog.records)  # no traceback for a server not there yet
    [info] = [r for r in caplog.records if r.levelno == logging.INFO]
    assert info.getMessage() == "postgres at db:5432/x is reachable"


async def test_a_background_start_is_unready_until_started_then_closes_cleanly() -> None:
    release = asyncio.Event()
    events: list[str] = []

    @asynccontextmanager
    async def service() -> AsyncIterator[str]:
        await release.wait()  # a server not there yet
        events.append("started")
        yield "service"
        events.append("stopped")

    async def always_ready(_: str) -> bool:
        return True

    start = BackgroundStart(service, what="test")
    ready = start.guard(always_ready)
    async with start:
        assert await ready() is False
        release.set()
        assert await start.wait_started() == "service"
        assert await ready() is True
    assert events == ["started", "stopped"]
    assert await ready() is False


async def test_a_background_start_still_waiting_is_cancelled_at_shutdown() -> None:
    @asynccontextmanager
    async def never() -> AsyncIterator[str]:
        await asyncio.Event().wait()
        yield "unreachable"

    start = BackgroundStart(never, what="test")
    async with start:
        await asyncio.sleep(0)
    assert start.started is False


async def test_waiting_for_a_start_that_failed_raises_its_error() -> None:
    @asynccontextmanager
    async def broken() -> AsyncIterator[str]:
        raise ValueError("migrations missing")
        yield "unreachable"

    async with BackgroundStart(broken, what="test") as start:
        with pytest.raises(ValueError, match="migrations missing"):
            await start.wait_started()
