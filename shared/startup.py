"""Starting a service: a configuration error is one line and exit code 2; a server not there yet is waited for.

`load_settings` turns pydantic's validation report into `ConfigurationError` naming the `CIVICPULSE_*` variables;
`refuse_to_start` prints it and exits 2. `until_connected` retries a connection with backoff, one log line per
attempt; `BackgroundStart` runs a service's start (its connections, then the service) in a task, so the HTTP side
answers `/readyz` 503 until it has started and becomes ready by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Generic, NoReturn, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from shared.retry import Backoff, RetryPolicy
from shared.settings import ENV_PREFIX

log = logging.getLogger("civicpulse.startup")
T = TypeVar("T")
S = TypeVar("S", bound=BaseSettings)
CONFIGURATION_EXIT_CODE = 2
CONNECT_RETRY = RetryPolicy(base_s=0.5, cap_s=10.0)
"""GUESS: 0.5 s doubling to 10 s: a server that comes up within a minute is found within 10 s of it."""


class ConfigurationError(Exception):
    """A setting is missing or wrong; the message names it and says what to do, on one line."""


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    return f"{ENV_PREFIX}{field.upper()}"


def describe(exc: ValidationError, *, fields: set[str], hints: dict[str, str] | None = None) -> str:
    """pydantic's report as one line: each problem names its variable; a field named in a message is too."""
    hints = hints or {}
    named = re.compile(r"\b(" + "|".join(sorted(map(re.escape, fields), key=len, reverse=True)) + r")\b")
    problems: list[str] = []
    hinted: list[str] = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        mentioned = [str(error["loc"][0])] if error["loc"] else named.findall(message)
        message = named.sub(lambda m: env_name(m.group(1)), message)
        if error["loc"]:
            value = f" (got {error['input']!r})" if isinstance(error.get("input"), str | int | float) else ""
            message = f"{env_name(str(error['loc'][0]))}: {message}{value}"
        problems.append(message)
        hinted.extend(hints[f] for f in mentioned if f in hints and hints[f] not in hinted)
    return "; ".join(problems + hinted)


def load_settings(factory: type[S], *, hints: dict[str, str] | None = None) -> S:
    """Read a settings class from the environment; ConfigurationError (one line) if a value is missing or wrong."""
    try:
        return factory()
    except ValidationError as exc:
        raise ConfigurationError(describe(exc, fields=set(factory.model_fields), hints=hints)) from None


def refuse_to_start(service: str, problem: Exception | str) -> NoReturn:
    """Print why the service will not start, on one line, and exit with the configuration error code."""
    message = " ".join(str(problem).split())
    sys.stderr.write(f"civicpulse {service}: refusing to start: {message}\n")
    raise SystemExit(CONFIGURATION_EXIT_CODE)


@contextlib.contextmanager
def configuration_errors(service: str, *errors: type[Exception]) -> Iterator[None]:
    """Inside the block, ConfigurationError (and the given error types) end the process with refuse_to_start."""
    caught: tuple[type[Exception], ...] = (ConfigurationError, *errors)
    try:
        yield
    except caught as exc:
        refuse_to_start(service, exc)


def dsn_location(dsn: str) -> str:
    """host:port/database of a PostgreSQL DSN, without the user or password (for logs)."""
    parts = urllib.parse.urlsplit(dsn)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"


async def until_connected(
    connect: Callable[[], Awaitable[T]],
    *,
    server: str,
    where: str,
    policy: RetryPolicy = CONNECT_RETRY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Await connect() until it succeeds, waiting the policy's delay between attempts.

    Each failed attempt is one warning line naming the server, where it is, the error and the next delay (no
    traceback: a server not there yet is expected, not a crash); success after a failure is one info line.
    """
    backoff = Backoff(policy)
    while True:
        try:
            result = await connect()
        except Exception as exc:  # any failure to connect is retried: the server may be starting or restarting
            delay = backoff.failed()
            text = str(exc) if str(exc).startswith(type(exc).__name__) else f"{type(exc).__name__}: {exc}"
            error = " ".join(text.split())
            log.warning(
                "%s at %s is not reachable yet (%s); retrying in %.1fs",
                server, where, error, delay,
                extra={"server": server, "where": where, "attempt": backoff.failures, "retry_in_s": delay,
                       "error": error},
            )  # fmt: skip
            await sleep(delay)
            continue
        if backoff.failures:
            log.info("%s at %s is reachable", server, where,
                     extra={"server": server, "where": where, "attempt": backoff.failures + 1})  # fmt: skip
        return result


class BackgroundStart(Generic[T]):
    """Enter an async context manager (a service's connections and run loops) in a background task, and hold it
    open until this one exits: the HTTP server answers meanwhile, unready until `started`."""

    def __init__(self, opener: Callable[[], AbstractAsyncContextManager[T]], *, what: str) -> None:
        self._opener = opener
        self._what = what
        self._value: T | None = None
        self._opened = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._error: Exception | None = None

    @property
    def started(self) -> bool:
        return self._value is not None

    @property
    def value(self) -> T | None:
        """What the context manager gave once entered; None while starting."""
        return self._value

    def guard(self, check: Callable[[T], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
        """A readiness check that fails (without calling check) until started."""

        async def ready() -> bool:
            return self._value is not None and await check(self._value)

        return ready

    async def wait_started(self) -> T:
        """Wait until entered; the start's own error if it failed instead."""
        assert self._task is not None
        opened = asyncio.create_task(self._opened.wait())
        try:
            await asyncio.wait([opened, self._task], return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
        if self._error is not None:
            raise self._error
        if self._value is None:
            raise RuntimeError(f"{self._what} stopped before it started")
        return self._value

    async def _run(self) -> None:
        try:
            async with self._opener() as value:
                self._value = value
                self._opened.set()
                await self._closing.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._error = exc
            log.exception("%s failed to start or stopped with an error; the service stays unready", self._what)
        finally:
            self._value = None

    async def __aenter__(self) -> BackgroundStart[T]:
        self._opened.clear()
        self._closing.clear()
        self._error = None
        self._task = asyncio.create_task(self._run(), name=f"{self._what}-start")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        if self._opened.is_set():
            self._closing.set()  # a clean exit of the entered context: the service stops as it would in a lifespan
        else:
            self._task.cancel()  # still waiting for a server: stop waiting
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
