"""The alerts service's PostgreSQL connection: a pool opened inside the event loop that uses it, or one given."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, TypeAlias

import asyncpg

from shared.db import create_pool_when_reachable
from shared.settings import PostgresSettings

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
"""The database is down, restarting or unreachable: a background loop logs these and tries again."""


class Database:
    """A pool opened later, inside the event loop that uses it (a pool belongs to the loop it opened on), or one
    given; the query methods go to it."""

    def __init__(self, pool: asyncpg.Pool[Any] | None = None) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def connected(self, settings: PostgresSettings) -> AsyncIterator[None]:
        """Open a pool for the lifetime of the block (waiting, with backoff, until PostgreSQL answers)."""
        pool = await create_pool_when_reachable(settings)
        self._pool = pool
        try:
            yield
        finally:
            self._pool = None
            await pool.close()

    @property
    def pool(self) -> asyncpg.Pool[Any]:
        """The pool; there is none outside `connected` unless one was given."""
        if self._pool is None:
            raise RuntimeError("the alerts database is not connected")
        return self._pool

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await self.pool.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        return await self.pool.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self.pool.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        return await self.pool.execute(query, *args)

    async def executemany(self, query: str, args: Iterable[Sequence[Any]]) -> None:
        await self.pool.executemany(query, args)


Executor: TypeAlias = "Database | asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]"
"""What a repository runs its statements on: the database (each call on its own) or a unit of work's connection."""
