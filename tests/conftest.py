"""Test harness: real Kafka and real PostgreSQL, started once per session; a fresh database and topics per test.

External servers are used instead when `CIVICPULSE_TEST_KAFKA_BOOTSTRAP` / `CIVICPULSE_TEST_PG_DSN` are set
(the PostgreSQL DSN must be allowed to create databases). A test that needs a server fails, never skips,
when the server can't start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared.devstack.kafka import REPO_ROOT, KafkaNode
from shared.devstack.postgres import PostgresNode
from shared.devstack.processes import free_port
from shared.migrations import migrate
from shared.settings import KafkaSettings, PostgresSettings, TopicSettings
from shared.topics import ensure_topics

TEMPLATE_DB = "civicpulse_template"


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    """A temp dir the postgres system user can reach, removed at the end of the session."""
    path = Path(tempfile.mkdtemp(prefix="civicpulse-test-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_node(servers_dir: Path) -> Iterator[KafkaNode | None]:
    """The session's Kafka broker (None when an external one is configured)."""
    if os.environ.get("CIVICPULSE_TEST_KAFKA_BOOTSTRAP"):
        yield None
        return
    node = KafkaNode(
        home=servers_dir / "kafka", port=free_port(), controller_port=free_port(),
        jar_cache=REPO_ROOT / ".civicpulse" / "kafka-jars", heap="768m",
    )  # fmt: skip
    node.start()
    yield node
    node.stop()


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[KafkaNode]:
    """A broker of the test alone, so stopping it does not disturb the session's."""
    node = KafkaNode(
        home=tmp_path / "kafka", port=free_port(), controller_port=free_port(),
        jar_cache=REPO_ROOT / ".civicpulse" / "kafka-jars", heap="384m",
    )  # fmt: skip
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_node: KafkaNode | None) -> str:
    """Bootstrap servers of the session's broker."""
    return os.environ.get("CIVICPULSE_TEST_KAFKA_BOOTSTRAP") or (kafka_node.bootstrap if kafka_node else "")


@pytest.fixture(scope="session")
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    """Connection settings for the session's broker."""
    return KafkaSettings(kafka_bootstrap=kafka_bootstrap, kafka_client_id="civicpulse-test")


@pytest.fixture
async def topics(kafka_settings: KafkaSettings) -> TopicSettings:
    """Topic names unique to this test, created on the broker."""
    suffix = uuid.uuid4().hex[:8]
    settings = TopicSettings(
        topic_raw=f"t{suffix}.events.raw", topic_events=f"t{suffix}.events", topic_dlq=f"t{suffix}.events.dlq",
        topic_snapshots=f"t{suffix}.kpi.snapshots", topic_alerts=f"t{suffix}.alerts",
        events_partitions=3, other_partitions=1,
    )  # fmt: skip
    await ensure_topics(kafka_settings, settings)
    return settings


@pytest.fixture(scope="session")
def pg_node(servers_dir: Path) -> Iterator[PostgresNode | None]:
    """The session's PostgreSQL cluster (None when an external one is configured)."""
    if os.environ.get("CIVICPULSE_TEST_PG_DSN"):
        yield None
        return
    node = PostgresNode(home=servers_dir / "postgres", port=free_port())
    node.start()
    yield node
    node.stop(mode="immediate")


@pytest.fixture(scope="session")
def pg_admin_dsn(pg_node: PostgresNode | None) -> str:
    """A DSN allowed to create and drop databases."""
    return os.environ.get("CIVICPULSE_TEST_PG_DSN") or (pg_node.dsn("postgres") if pg_node else "")


def _with_database(dsn: str, database: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
async def pg_template(pg_admin_dsn: str) -> str:
    """A database migrated from zero once per session: the template every test's database is cloned from."""
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    finally:
        await admin.close()
    connection = await asyncpg.connect(_with_database(pg_admin_dsn, TEMPLATE_DB))
    try:
        await migrate(connection)
    finally:
        await connection.close()
    return TEMPLATE_DB


@pytest.fixture
async def pg_dsn(pg_admin_dsn: str, pg_template: str) -> AsyncIterator[str]:
    """DSN of a fresh migrated database for this test, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
        yield _with_database(pg_admin_dsn, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def pg_settings(pg_dsn: str) -> PostgresSettings:
    """Settings pointing at this test's database."""
    return PostgresSettings(pg_dsn=pg_dsn)  # type: ignore[arg-type]


@pytest.fixture
async def pg_conn(pg_dsn: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    """A connection to this test's database."""
    connection = await asyncpg.connect(pg_dsn)
    try:
        yield connection
    finally:
        await connection.close()
