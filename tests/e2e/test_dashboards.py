"""Every Grafana panel query returns data: the services run as real processes fed by the simulator (through the
ingest API) and by events produced to Kafka, a real Prometheus scrapes them every second and evaluates the committed
rules, and each dashboard's PromQL runs through Prometheus' HTTP API and each SQL query on the test's PostgreSQL.

Grafana is not available here, so its template variables are substituted with the values below:

| variable           | value                                   | why                                                  |
|--------------------|-----------------------------------------|------------------------------------------------------|
| `$unit`            | `H24`                                   | the province: every KPI, window and child unit       |
| `$level`           | `commune`                               | the level with the incident                          |
| `$window`          | `30d`                                   | the window the alert rules watch                     |
| `$kpi`             | `online_submission_rate`                | the KPI ward H24.107 misses (the incident)           |
| `$kpi_each`        | each KPI name in turn                   | the repeated trend panel must have data for all ten  |
| `$period`          | `month`                                 | the 766 scorecard's period the trend panels also use |
| `$__rate_interval` | `1m`                                    | scrape every 1s: 60 samples                          |
| `$__interval`      | `15s`                                   |                                                      |
| `$__range`         | `5m`                                    | longer than the test: covers all its samples         |
| `$__timeFilter(c)` | `c BETWEEN now() - '6 hours' AND now()` | Grafana's SQL time-range macro                       |

A variable left unsubstituted fails the test, so this table has to grow with the dashboards.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml
from aiokafka import AIOKafkaProducer

from services.alerts.settings import DEFAULT_RULES_FILE
from services.ingest.auth import hash_token
from shared.kpi_catalogue import KPI_NAMES
from shared.settings import KafkaSettings, TopicSettings
from tests.support.alerting import HttpSink
from tests.support.factories import random_events, received
from tests.support.prometheus import REPO_ROOT, PrometheusServer
from tests.support.services import ServiceUnderTest, produce, service_env

pytestmark = pytest.mark.e2e

DASHBOARDS = sorted((REPO_ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
SUBSTITUTIONS = {"unit": "H24", "level": "commune", "window": "30d", "kpi": "online_submission_rate",
                 "period": "month", "__rate_interval": "1m", "__interval": "15s", "__range": "5m"}  # fmt: skip
TIME_FILTER = re.compile(r"\$__timeFilter\((\w+)\)")
VARIABLE = re.compile(r"\$\{?(\w+)\}?")
METRIC_NAME = re.compile(r"\b(?:civicpulse[_:]|faststream_)[A-Za-z0-9_:]*|\bALERTS\b|\bup\b")
LABEL_VALUES = re.compile(r"label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)")
TOKEN = "dashboards-e2e-token"
DEADLINE_S = 45


def substitute(text: str, **extra: str) -> str:
    """A panel query with Grafana's variables and macros replaced by the documented values."""
    text = TIME_FILTER.sub(r"\1 BETWEEN now() - interval '6 hours' AND now()", text)
    values = {**SUBSTITUTIONS, **extra}
    text = VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)
    assert not VARIABLE.search(text), f"no substitution for {VARIABLE.search(text)!r} in {text!r}"
    return text


def panel_queries() -> Iterator[tuple[str, str, str, str]]:
    """(dashboard, panel title, kind 'promql' or 'sql', query) for every target; repeated panels once per KPI."""
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text("utf-8"))
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                raw, kind = (target["expr"], "promql") if "expr" in target else (target["rawSql"], "sql")
                repeats = [{panel["repeat"]: kpi} for kpi in KPI_NAMES] if panel.get("repeat") else [{}]
                for extra in repeats:
                    title = substitute(panel["title"], **extra)
                    yield path.stem, f"{title} [{target['refId']}]", kind, substitute(raw, **extra)


def variable_queries() -> Iterator[tuple[str, str, str | None, str]]:
    """(dashboard, variable, selector, label) of every label_values() variable."""
    for path in DASHBOARDS:
        for variable in json.loads(path.read_text("utf-8"))["templating"]["list"]:
            if variable["type"] == "query":
                match = LABEL_VALUES.fullmatch(variable["query"])
                assert match, f"{path.stem}: unsupported variable query {variable['query']!r}"
                selector = substitute(match["selector"]) if match["selector"] else None
                yield path.stem, variable["name"], selector, match["label"]


def alerts_rules_file(path: Path, *, broken_receiver_url: str) -> Path:
    """The shipped rules, firing at once and notifying a receiver that answers 503 (so retries and failures show).

    Every rule notifies on its own here (the chronic gaps included, which normally wait for the daily digest), so
    the notification panels have delivery attempts within the test's minutes.
    """
    rules = yaml.safe_load(DEFAULT_RULES_FILE.read_text("utf-8"))
    rules["defaults"].update({"for": "0s", "receivers": ["broken-webhook"]})
    for rule in rules["rules"]:
        rule.update({"notify": "page", "for": "0s"})
    rules["receivers"] = [{"name": "broken-webhook", "type": "webhook", "url": broken_receiver_url}]
    path.write_text(yaml.safe_dump(rules, sort_keys=False), "utf-8")
    return path


@pytest.fixture
def broken_receiver() -> Iterator[HttpSink]:
    sink = HttpSink().start()
    sink.failing = True
    yield sink
    sink.stop()


@dataclass(frozen=True)
class Stack:
    """The running services and what the test needs to feed and query them."""

    services: dict[str, ServiceUnderTest]
    kafka: KafkaSettings
    topics: TopicSettings
    pg_dsn: str
    broken_receiver: HttpSink
    logs: Path


@pytest.fixture
def stack(
    kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str, tmp_path: Path, broken_receiver: HttpSink
) -> Iterator[Stack]:
    """Ingest, metrics and alerts as real processes, started side by side."""
    run = uuid.uuid4().hex[:6]
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(yaml.safe_dump({"sources": {"demo": {"tokens": [hash_token(TOKEN)]}}}), "utf-8")
    rules = alerts_rules_file(tmp_path / "alert-rules.yaml", broken_receiver_url=f"{broken_receiver.url}/hook")
    settings = {
        "ingest": {"CIVICPULSE_INGEST_TOKENS_FILE": str(tokens), "CIVICPULSE_INGEST_GROUP_ID": f"ingest-{run}"},
        "metrics": {"CIVICPULSE_METRICS_GROUP_ID": f"metrics-{run}", "CIVICPULSE_METRICS_INDEX766_REFRESH_S": "1"},
        "alerts": {f"CIVICPULSE_ALERTS_{key}": value for key, value in {
            "GROUP_ID": f"alerts-{run}", "RULES_FILE": str(rules), "ADMIN_TOKEN": "dashboards-e2e-admin",
            "OFFSET_RESET": "earliest", "EVAL_INTERVAL_S": "1", "DISPATCH_POLL_S": "0.2",
            "DISPATCH_MAX_ATTEMPTS": "2", "DISPATCH_BACKOFF_BASE_S": "0.2",
        }.items()},
    }  # fmt: skip
    services = {
        name: ServiceUnderTest(name, [name, "serve"], log_dir=tmp_path,
                               env=service_env(kafka=kafka_settings, topics=topics, pg_dsn=pg_dsn, **extra))
        for name, extra in settings.items()
    }  # fmt: skip
    try:
        with ThreadPoolExecutor(len(services)) as pool:
            for started in [pool.submit(s.start) for s in services.values()]:
                started.result()
        yield Stack(services, kafka_settings, topics, pg_dsn, broken_receiver, tmp_path)
    finally:
        for service in services.values():
            service.kill()


@pytest.fixture
def prometheus(stack: Stack, tmp_path: Path) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping the three services every second, with the committed rules loaded."""
    jobs = {f"civicpulse-{name}": [f"127.0.0.1:{s.port}"] for name, s in stack.services.items()}
    server = PrometheusServer(home=tmp_path / "prometheus", jobs=jobs)
    server.start()
    try:
        server.wait_until_scraped()
        yield server
    finally:
        server.stop()


async def simulate(ingest: ServiceUnderTest, log: Path) -> None:
    """The simulator as users run it, through the ingest API: a week of history, then live traffic."""
    command = [sys.executable, "-m", "services.cli", "simulate", "--profile", "haiphong", "--url", ingest.url,
               "--rate", "400/s", "--events", "400", "--backfill", "7d", "--backfill-events", "3000", "--seed", "7",
               "--no-rhythm", "--incident", "unit=H24.107,kpi=online_submission_rate,to=0.6,for=1h"]  # fmt: skip
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=output, stderr=output, cwd=REPO_ROOT,
            env={**ingest.env, "CIVICPULSE_SIMULATOR_TOKEN": TOKEN},
        )  # fmt: skip
        if await asyncio.wait_for(process.wait(), 60) != 0:
            raise AssertionError(f"the simulator failed:\n{await asyncio.to_thread(log.read_text, 'utf-8')}")


async def feed(stack: Stack) -> None:
    """Simulated traffic, a month of random history, ward H24.107 slipping below its online target and holding 30
    dossiers past their due date (the backlog board), events for a unit the tree lacks, and one bad record."""
    kafka, topics, ingest = stack.kafka, stack.topics, stack.services["ingest"]
    now = datetime.now(UTC)
    incident = [received(unit="H24.107", at=now - timedelta(minutes=i), channel="in_person") for i in range(250)]
    unknown = [received(unit="NEW.1", at=now - timedelta(minutes=i)) for i in range(3)]
    due = (now - timedelta(days=1)).isoformat()
    overdue = [received(unit="H24.107", at=now - timedelta(days=6, minutes=i), due_at=due) for i in range(30)]
    await asyncio.gather(
        simulate(ingest, stack.logs / "simulator.log"),
        produce(kafka, topics.topic_events, [*random_events(3000, seed=5, now=now), *incident, *unknown, *overdue]),
    )
    producer = AIOKafkaProducer(**kafka.aiokafka_options())
    await producer.start()
    try:
        await producer.send_and_wait(topics.topic_events, b"{not an event", key=b"garbage")  # a dead letter
    finally:
        await producer.stop()
    # And one batch the ingest API refuses, so rejections have a series.
    async with httpx.AsyncClient(base_url=ingest.url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        refused = await client.post("/v1/events", json=[{"type": "nonsense"}], timeout=10)
    assert refused.status_code == 422, refused.text


async def sql_rows(dsn: str, query: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return len(await connection.fetch(query))
    finally:
        await connection.close()


async def test_every_dashboard_query_returns_data(stack: Stack, prometheus: PrometheusServer) -> None:
    queries = list(panel_queries())
    assert {q[0] for q in queries} == {p.stem for p in DASHBOARDS}
    await feed(stack)

    # Data arrives in stages (counting, snapshots, rules, alerts): poll every query until it has rows, or time out.
    waiting = {(dashboard, title, kind, query) for dashboard, title, kind, query in queries}
    last_error: dict[tuple[str, str, str, str], str] = {}
    deadline = time.monotonic() + DEADLINE_S
    while waiting and time.monotonic() < deadline:
        for item in sorted(waiting):
            _, _, kind, query = item
            try:
                found = len(prometheus.query(query)) if kind == "promql" else await sql_rows(stack.pg_dsn, query)
            except (AssertionError, asyncpg.PostgresError) as exc:
                last_error[item] = str(exc)
                continue
            if found:
                waiting.discard(item)
            else:
                last_error[item] = "no data"
        if waiting:
            await asyncio.sleep(1)
    report = "\n".join(f"  {d} / {t} ({k}): {last_error.get((d, t, k, q))}\n    {q}" for d, t, k, q in sorted(waiting))
    assert not waiting, f"{len(waiting)} of {len(queries)} panel queries returned no data:\n{report}"

    # Every metric a query names is one Prometheus really has (a typo cannot hide behind another target's data).
    names = prometheus.metric_names()
    used = {name for _, _, kind, query in queries if kind == "promql" for name in METRIC_NAME.findall(query)}
    assert used - names == set(), f"metrics named by panels but never scraped or recorded: {sorted(used - names)}"

    for dashboard, variable, selector, label in variable_queries():
        values = prometheus.label_values(label, selector or "{__name__=~'.+'}")
        assert values, f"{dashboard}: variable ${variable} has no values"
    assert stack.broken_receiver.attempts(), "the notification panels' data must come from real delivery attempts"
