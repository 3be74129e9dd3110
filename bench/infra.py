"""Kafka and PostgreSQL for the benchmarks: throw-away ones started here (or external ones), shared by a series
of runs; every run gets fresh topics and a fresh database, deleted when it ends."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console

from bench.procfs import cpu_seconds
from shared.devstack.kafka import REPO_ROOT, KafkaNode
from shared.devstack.postgres import PostgresNode
from shared.devstack.processes import free_port, read_pid
from shared.migrations import migrate
from shared.refdata import ReferenceData
from shared.refdata.store import sync_reference_data
from shared.settings import KafkaSettings, TopicSettings
from shared.topics import ensure_topics

# Describing a topic just created can show it without partitions yet: a "drift" warning that means nothing here.
logging.getLogger("shared.topics").setLevel(logging.ERROR)
# aiokafka logs the errors it retries (no group coordinator yet on a fresh broker) at ERROR; real failures raise.
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


@dataclass(frozen=True, slots=True)
class RunScope:
    """What one benchmark run owns: its topics and, if it needs one, its migrated database."""

    run_id: str
    bootstrap: str
    topics: TopicSettings
    dsn: str


def _topics(run_id: str) -> TopicSettings:
    prefix = f"bench.{run_id}"
    return TopicSettings(
        topic_raw=f"{prefix}.raw",
        topic_events=f"{prefix}.events",
        topic_dlq=f"{prefix}.dlq",
        topic_snapshots=f"{prefix}.snapshots",
        topic_alerts=f"{prefix}.alerts",
    )


def topic_names(topics: TopicSettings) -> list[str]:
    """The five topic names of a run."""
    return [topics.topic_raw, topics.topic_events, topics.topic_dlq, topics.topic_snapshots, topics.topic_alerts]


def _database_dsn(server_dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(server_dsn)._replace(path=f"/{database}"))


class Infrastructure:
    """Kafka and (optionally) PostgreSQL for a series of runs; as a context manager, stops what it started.

    With an external PostgreSQL (`pg_dsn`), each run's database is created on that server (CREATEDB needed).
    """

    def __init__(
        self, *, console: Console, bootstrap: str | None = None, pg_dsn: str | None = None, postgres: bool = True
    ) -> None:
        self.console = console
        self.home = Path(tempfile.mkdtemp(prefix="civicpulse-bench-"))
        self.home.chmod(0o711)  # the postgres user must reach the cluster directory below
        jars = REPO_ROOT / ".civicpulse" / "kafka-jars"
        self._kafka = (
            None
            if bootstrap
            else KafkaNode(home=self.home / "kafka", port=free_port(), controller_port=free_port(), jar_cache=jars,
                           heap="1g")
        )  # fmt: skip
        self._pg = PostgresNode(home=self.home / "pg", port=free_port()) if postgres and not pg_dsn else None
        self._bootstrap = bootstrap
        self._pg_dsn = pg_dsn

    @property
    def bootstrap(self) -> str:
        return self._bootstrap or self._kafka.bootstrap  # type: ignore[union-attr]

    @property
    def server_dsn(self) -> str:
        """A DSN of the PostgreSQL server's maintenance database (or the external one given)."""
        if self._pg_dsn:
            return self._pg_dsn
        if self._pg is None:
            raise RuntimeError("this benchmark was set up without PostgreSQL")
        return self._pg.dsn()

    def server_cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by the Kafka broker and the PostgreSQL cluster started here (not external ones)."""
        used: dict[str, float] = {}
        if self._kafka and (pid := read_pid(self._kafka.pid_file)):
            used["kafka"] = cpu_seconds(pid)
        if self._pg and (pid := read_pid(self._pg.data_dir / "postmaster.pid")):
            used["postgres"] = cpu_seconds(pid, tree=True)
        return used

    def __enter__(self) -> Infrastructure:
        try:
            if self._kafka:
                with self.console.status("starting Kafka"):
                    self._kafka.start()
            if self._pg:
                with self.console.status("starting PostgreSQL"):
                    self._pg.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
        if error is None:
            shutil.rmtree(self.home, ignore_errors=True)
        else:
            self.console.print(f"[yellow]servers' and services' logs kept in {self.home}[/]")

    def stop(self) -> None:
        """Stop the servers started here."""
        if self._kafka:
            self._kafka.stop()
        if self._pg:
            self._pg.stop(mode="immediate")

    @contextlib.asynccontextmanager
    async def run_scope(self, name: str, *, refdata: ReferenceData | None = None) -> AsyncIterator[RunScope]:
        """Fresh topics (and, given reference data, a migrated database holding it) for one run; removed after."""
        run_id = f"{name}_{uuid.uuid4().hex[:6]}"
        topics = _topics(run_id)
        await ensure_topics(KafkaSettings(kafka_bootstrap=self.bootstrap), topics)
        dsn = ""
        try:
            if refdata is not None:
                dsn = await self._create_database(run_id, refdata)
            yield RunScope(run_id=run_id, bootstrap=self.bootstrap, topics=topics, dsn=dsn)
        finally:
            await self._delete_topics(topics)
            if dsn:
                await self._drop_database(run_id)

    @contextlib.asynccontextmanager
    async def database(self, name: str, *, refdata: ReferenceData) -> AsyncIterator[str]:
        """One more migrated database holding the reference data (a second run over the same topics); dropped after."""
        dsn = await self._create_database(name, refdata)
        try:
            yield dsn
        finally:
            await self._drop_database(name)

    async def _create_database(self, name: str, refdata: ReferenceData) -> str:
        server = await asyncpg.connect(self.server_dsn)
        try:
            await server.execute(f'CREATE DATABASE "{name}"')
        finally:
            await server.close()
        dsn = _database_dsn(self.server_dsn, name)
        connection = await asyncpg.connect(dsn)
        try:
            await migrate(connection)
            await sync_reference_data(connection, refdata)
        finally:
            await connection.close()
        return dsn

    async def _drop_database(self, name: str) -> None:
        server = await asyncpg.connect(self.server_dsn)
        try:
            await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await server.close()

    async def _delete_topics(self, topics: TopicSettings) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            names = [name for name in topic_names(topics) if name in existing]
            if names:
                await admin.delete_topics(names)
        finally:
            await admin.close()


RESULTS = REPO_ROOT / "bench" / "results"
"""Where every benchmark writes its JSON."""


def save_result(path: Path, result: dict[str, object], console: Console) -> None:
    """Write one benchmark's JSON result and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {path}")
