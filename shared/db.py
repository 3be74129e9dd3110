"""asyncpg pool helpers."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from shared.settings import PostgresSettings
from shared.startup import dsn_location, until_connected


async def _init_connection(connection: asyncpg.Connection[Any]) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
        )


async def create_pool(settings: PostgresSettings) -> asyncpg.Pool[Any]:
    """Open a pool whose connections encode and decode JSON with orjson."""
    pool = await asyncpg.create_pool(
        settings.pg_dsn.get_secret_value(),
        min_size=settings.pg_pool_min,
        max_size=settings.pg_pool_max,
        init=_init_connection,
    )
    assert pool is not None
    return pool


async def create_pool_when_reachable(settings: PostgresSettings) -> asyncpg.Pool[Any]:
    """create_pool, retried with backoff until PostgreSQL answers, one log line per attempt (shared/startup.py)."""
    where = dsn_location(settings.pg_dsn.get_secret_value())
    return await until_connected(lambda: create_pool(settings), server="postgres", where=where)
