"""Start-up as an operator sees it: a configuration error is one line and exit code 2, and a service whose
PostgreSQL or Kafka is not there yet answers /readyz 503, logs one line per attempt and becomes ready by itself."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from shared.devstack.kafka import REPO_ROOT, KafkaNode
from shared.devstack.postgres import PostgresNode
from shared.devstack.processes import free_port
from shared.migrations import migrate
from shared.settings import KafkaSettings, TopicSettings
from shared.topics import ensure_topics
from tests.support.factories import random_events
from tests.support.services import ServiceUnderTest, poll, produce, service_env

pytestmark = pytest.mark.e2e


def civicpulse(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=60, check=False)  # fmt: skip


def clean_env(**settings: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")} | settings


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *, service: str, names: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"civicpulse {service}: refusing to start: "), line
    assert names in line, line
    return line


def test_ingest_in_production_without_a_tokens_file_is_one_line_naming_the_setting() -> None:
    result = civicpulse("ingest", "serve", env=clean_env(CIVICPULSE_ENVIRONMENT="production"))
    line = assert_one_line_refusal(result, service="ingest", names="CIVICPULSE_INGEST_TOKENS_FILE")
    assert "hash-token" in line  # what to do


def test_ingest_with_an_unreadable_tokens_file_names_the_setting(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("sources: [", "utf-8")
    env = clean_env(CIVICPULSE_ENVIRONMENT="production", CIVICPULSE_INGEST_TOKENS_FILE=str(tokens))
    line = assert_one_line_refusal(civicpulse("ingest", "serve", env=env), service="ingest",
                                   names="CIVICPULSE_INGEST_TOKENS_FILE")  # fmt: skip
    assert str(tokens) in line


def test_metrics_with_a_malformed_setting_names_it_and_its_value() -> None:
    result = civicpulse("metrics", "serve", env=clean_env(CIVICPULSE_HTTP_PORT="eighty"))
    line = assert_one_line_refusal(result, service="metrics", names="CIVICPULSE_HTTP_PORT")
    assert "'eighty'" in line


def test_alerts_with_an_invalid_rules_file_names_the_setting_and_the_check_command(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n- name: broken\n  kpi: online_submission_rate\n", "utf-8")
    result = civicpulse("alerts", "serve", env=clean_env(CIVICPULSE_ALERTS_RULES_FILE=str(rules)))
    line = assert_one_line_refusal(result, service="alerts", names="CIVICPULSE_ALERTS_RULES_FILE")
    assert f"civicpulse alerts check {rules}" in line


def log_records(service: ServiceUnderTest) -> list[dict[str, Any]]:
    """The service's log: every line is one JSON object (a traceback would not parse)."""
    return [json.loads(line) for line in service.log_file.read_text("utf-8").splitlines() if line.strip()]


def attempts(service: ServiceUnderTest, server: str) -> list[dict[str, Any]]:
    return [r for r in log_records(service) if r.get("server") == server and "retry_in_s" in r]


def reachable(service: ServiceUnderTest, server: str) -> bool:
    return any(r.get("server") == server and "retry_in_s" not in r for r in log_records(service))


def readiness(service: ServiceUnderTest) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{service.url}/readyz", timeout=10)
    return response.status_code, response.json()


def assert_one_line_per_attempt(lines: list[dict[str, Any]], *, server: str, where: str) -> None:
    assert [r["attempt"] for r in lines] == list(range(1, len(lines) + 1))
    assert all(r["level"] == "WARNING" and r["where"] == where and r["error"] for r in lines), lines
    delays = [r["retry_in_s"] for r in lines]
    assert delays == sorted(delays), delays  # backing off, never faster
    assert all(server in r["message"] for r in lines)


@pytest.fixture
def stopped_servers(servers_dir: Path) -> Iterator[tuple[PostgresNode, KafkaNode]]:
    """A PostgreSQL cluster and a Kafka broker of this test alone, prepared (migrated database, topics) and then
    stopped: servers a service will find "not there yet" and that come back with their data."""
    home = servers_dir / f"startup-{uuid.uuid4().hex[:8]}"
    postgres = PostgresNode(home=home / "postgres", port=free_port())
    kafka = KafkaNode(home=home / "kafka", port=free_port(), controller_port=free_port(),
                      jar_cache=REPO_ROOT / ".civicpulse" / "kafka-jars", heap="384m")  # fmt: skip
    try:
        yield postgres, kafka
    finally:
        kafka.stop()
        postgres.stop(mode="immediate")


async def prepare(postgres: PostgresNode, kafka: KafkaNode, topics: TopicSettings) -> str:
    postgres.start()
    dsn = postgres.create_database("civicpulse")
    connection = await asyncpg.connect(dsn)
    try:
        await migrate(connection)
    finally:
        await connection.close()
    kafka.start()
    await ensure_topics(KafkaSettings(kafka_bootstrap=kafka.bootstrap), topics)
    kafka.stop()
    postgres.stop()
    return dsn


async def count_processed(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM processed_events"))
    finally:
        await connection.close()


async def test_metrics_waits_for_postgres_then_kafka_unready_meanwhile_and_then_counts(
    stopped_servers: tuple[PostgresNode, KafkaNode], tmp_path: Path
) -> None:
    postgres, kafka = stopped_servers
    topics = TopicSettings(topic_events=f"s{uuid.uuid4().hex[:6]}.events", events_partitions=2, other_partitions=1)
    dsn = await prepare(postgres, kafka, topics)
    own_kafka = KafkaSettings(kafka_bootstrap=kafka.bootstrap)
    env = service_env(kafka=own_kafka, topics=topics, pg_dsn=dsn, CIVICPULSE_METRICS_GROUP_ID="startup-test")
    service = ServiceUnderTest("metrics", ["metrics", "serve"], env=env, log_dir=tmp_path)
    try:
        service.start(ready=False)  # it serves although neither server is there
        poll(lambda: len(attempts(service, "postgres")) >= 3, timeout=60, what="three attempts at postgres")
        assert readiness(service) == (503, {"status": "unready", "checks": {"kafka": "failing", "postgres": "failing"}})
        assert service.process is not None
        assert service.process.poll() is None

        postgres.start()
        poll(lambda: reachable(service, "postgres") and len(attempts(service, "kafka")) >= 2, timeout=60,
             what="postgres reached, then attempts at kafka")  # fmt: skip
        status, body = readiness(service)
        assert (status, body["checks"]["kafka"]) == (503, "failing")

        kafka.start()
        poll(lambda: readiness(service)[0] == 200, timeout=90, what="ready by itself once kafka is back")
        assert readiness(service)[1] == {"status": "ready", "checks": {"kafka": "ok", "postgres": "ok"}}
        assert_one_line_per_attempt(attempts(service, "postgres"), server="postgres",
                                    where=f"127.0.0.1:{postgres.port}/civicpulse")  # fmt: skip
        assert_one_line_per_attempt(attempts(service, "kafka"), server="kafka", where=kafka.bootstrap)
        assert "Traceback" not in service.log_file.read_text("utf-8")

        events = random_events(300, seed=41)
        await produce(own_kafka, topics.topic_events, events)
        deadline = asyncio.get_running_loop().time() + 120
        while (counted := await count_processed(dsn)) < len(events):
            assert asyncio.get_running_loop().time() < deadline, f"{counted} of {len(events)} counted"
            await asyncio.sleep(0.3)
        assert counted == len(events)
    finally:
        service.stop()


async def test_alerts_waits_for_postgres_and_becomes_ready_by_itself(
    stopped_servers: tuple[PostgresNode, KafkaNode], kafka_settings: KafkaSettings, topics: TopicSettings,
    tmp_path: Path,
) -> None:  # fmt: skip
    postgres, kafka = stopped_servers
    dsn = await prepare(postgres, kafka, topics)
    env = service_env(kafka=kafka_settings, topics=topics, pg_dsn=dsn, CIVICPULSE_ENVIRONMENT="development")
    service = ServiceUnderTest("alerts", ["alerts", "serve"], env=env, log_dir=tmp_path)
    try:
        service.start(ready=False)
        poll(lambda: len(attempts(service, "postgres")) >= 2, timeout=60, what="two attempts at postgres")
        assert readiness(service)[0] == 503
        assert readiness(service)[1]["checks"]["postgres"] == "failing"

        postgres.start()
        poll(lambda: readiness(service)[0] == 200, timeout=60, what="ready by itself once postgres is up")
        assert_one_line_per_attempt(attempts(service, "postgres"), server="postgres",
                                    where=f"127.0.0.1:{postgres.port}/civicpulse")  # fmt: skip
        response = service.get("/v1/alerts")
        assert response.status_code == 200, response.text
        assert "Traceback" not in service.log_file.read_text("utf-8")
    finally:
        service.stop()
