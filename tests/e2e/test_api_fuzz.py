"""Schemathesis over the OpenAPI of every service, each a real process: no 5xx, and every 4xx explains itself.

Each service serves real data while it is fuzzed (events counted, alerts raised), and the write APIs get valid
credentials so the fuzzer exercises validation rather than the token check; a smaller run without credentials
checks that every write is refused with a 401 that says why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from schemathesis import Case, GenerationMode

from services.ingest.auth import hash_token
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from shared.settings import KafkaSettings, TopicSettings
from shared.snapshots import KpiSnapshot, snapshot_adapter
from tests.support.factories import random_events
from tests.support.fuzzing import explanation, fuzz, load_schema
from tests.support.services import ServiceUnderTest, poll, produce, service_env

pytestmark = pytest.mark.e2e
EXAMPLES = 60  # per operation: ~1,000 requests over the three services, well under a minute on 2 cores
SOURCE, INGEST_TOKEN, ADMIN_TOKEN = "demo", "fuzz-ingest-token", "fuzz-admin-token"
INGEST_AUTH, ADMIN_AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}, {"Authorization": f"Bearer {ADMIN_TOKEN}"}
INGEST_WRITES = {
    "POST /v1/events", "POST /v1/adapters/dvcqg", "POST /v1/adapters/emc", "POST /v1/dvcqg/DongBoHoSoMC",
    "POST /v1/emc/TrackingMCDT",
}  # fmt: skip
ALERTS_WRITES = {"POST /v1/silences", "DELETE /v1/silences/{silence_id}"}
RULES = """
rules:
  - name: online-low
    kpi: online_submission_rate
    window: 30d
    scope: {levels: [district]}
    target: 0.87
    min_denominator: 50
    for: 0s
    severity: warning
    labels: {team: ops}
    annotations: {summary: "{unit_name}: {value_pct} below {target_pct}"}
"""
SILENCE = {"matchers": [{"name": "unit", "value": "HD.CG"}], "author": "ops", "comment": "maintenance"}
ONCE_ANSWERED_500 = [  # what the fuzzer found in the alerts API: each is now refused with a reason
    ("GET", "/v1/alerts/history?before=9223372036854775808", None),  # past bigint
    ("GET", "/v1/alerts/history?alert_id=a%00b", None),  # PostgreSQL text holds no NUL
    ("POST", "/v1/silences", {**SILENCE, "author": "a\u0000b"}),
    ("POST", "/v1/silences", {**SILENCE, "duration": 2.9e16}),  # past timedelta
    ("POST", "/v1/silences", {**SILENCE, "ends_at": "2999-01-01T00:00:00"}),  # no offset: not comparable with now
    ("POST", "/v1/silences", {**SILENCE, "starts_at": "9999-12-31T23:30:00Z", "duration": "1h"}),  # past year 9999
    ("POST", "/v1/silences", {**SILENCE, "ends_at": "9999-12-31T23:00:00-05:00"}),  # past year 9999 in UTC
]


@pytest.fixture
def start_service(
    kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str, tmp_path: Path
) -> Iterator[Callable[[str], ServiceUnderTest]]:
    """Starts `civicpulse <name> serve` on this test's topics and database, with credentials the test holds."""
    tokens, rules = tmp_path / "tokens.yaml", tmp_path / "rules.yaml"
    tokens.write_text(f"sources:\n  {SOURCE}:\n    tokens: [{hash_token(INGEST_TOKEN)}]\n")
    rules.write_text(RULES)
    group = uuid.uuid4().hex[:6]
    env = service_env(
        kafka=kafka_settings, topics=topics, pg_dsn=pg_dsn, CIVICPULSE_INGEST_TOKENS_FILE=str(tokens),
        CIVICPULSE_METRICS_GROUP_ID=f"metrics-{group}", CIVICPULSE_ALERTS_GROUP_ID=f"alerts-{group}",
        CIVICPULSE_ALERTS_ADMIN_TOKEN=ADMIN_TOKEN, CIVICPULSE_ALERTS_RULES_FILE=str(rules),
        CIVICPULSE_ALERTS_OFFSET_RESET="earliest", CIVICPULSE_ALERTS_EVAL_INTERVAL_S="0.5",
    )  # fmt: skip
    started: list[ServiceUnderTest] = []

    def start(name: str) -> ServiceUnderTest:
        service = ServiceUnderTest(name, [name, "serve"], env=env, log_dir=tmp_path)
        started.append(service)
        service.start()
        return service

    yield start
    for service in started:
        service.kill()


def from_our_source(case: Case[Any]) -> None:
    """Events name the token's source, so valid batches get past the 403 and are published to Kafka."""
    if isinstance(case.body, list):
        for event in case.body:
            if isinstance(event, dict) and "source" in event:
                event["source"] = SOURCE


def from_now_for_an_hour(case: Case[Any]) -> None:
    """A silence generated with neither end or both (half of them) lasts an hour from now, so some are created.

    The fuzzer cannot make one from the schema alone: it sends ISO 8601 durations, which the service does not take.
    """
    body = case.body
    if isinstance(body, dict) and (body.get("ends_at") is None) == (body.get("duration") is None):
        body.pop("starts_at", None)
        body.pop("ends_at", None)
        body["duration"] = "1h"


async def raise_alerts(kafka: KafkaSettings, topics: TopicSettings, dsn: str) -> None:
    """Units and breaching snapshots, so the alerts service has alerts and history to serve."""
    connection = await asyncpg.connect(dsn)
    try:
        await sync_reference_data(connection, load_reference_data())
    finally:
        await connection.close()
    producer = AIOKafkaProducer(**kafka.aiokafka_options(), acks="all")
    await producer.start()
    try:
        at = datetime.now(UTC)
        for unit, ratio in [("HD.CG", 0.5), ("HD.GL", 0.8), ("HD.TK", 0.95)]:
            item = KpiSnapshot(kpi="online_submission_rate", window="30d", unit_code=unit, unit_level="district",
                               numerator=round(ratio * 1000), denominator=1000, ratio=ratio,
                               window_start=at - timedelta(days=30), window_end=at, computed_at=at)  # fmt: skip
            await producer.send_and_wait(topics.topic_snapshots, snapshot_adapter.dump_json(item),
                                         key="|".join(item.scope).encode())  # fmt: skip
    finally:
        await producer.stop()


def test_ingest_answers_no_5xx_and_explains_every_4xx(start_service: Callable[[str], ServiceUnderTest]) -> None:
    service = start_service("ingest")
    report = fuzz(load_schema(service.url), base_url=service.url, max_examples=EXAMPLES, headers=INGEST_AUTH,
                  prepare=from_our_source)  # fmt: skip
    print(f"\ningest: {report.examples} requests; {report}")
    assert set(report.statuses) >= INGEST_WRITES
    assert {202, 422} <= report.answered  # past the token, into validation and on to Kafka
    assert 401 not in report.answered


async def test_metrics_answers_no_5xx_and_explains_every_4xx(
    start_service: Callable[[str], ServiceUnderTest], kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    await produce(kafka_settings, topics.topic_events, random_events(500, seed=7))
    service = start_service("metrics")
    poll(lambda: any(i["denominator"] for i in service.get("/v1/kpis?window=30d").json()["items"]), timeout=30,
         what="KPIs computed from the events")  # fmt: skip
    report = fuzz(load_schema(service.url), base_url=service.url, max_examples=EXAMPLES)
    print(f"\nmetrics: {report.examples} requests; {report}")
    assert set(report.statuses) >= {"GET /v1/kpis", "GET /v1/ranking"}
    assert {200, 422} <= report.answered


async def test_alerts_answers_no_5xx_and_explains_every_4xx(
    start_service: Callable[[str], ServiceUnderTest], kafka_settings: KafkaSettings, topics: TopicSettings,
    pg_dsn: str,
) -> None:  # fmt: skip
    await raise_alerts(kafka_settings, topics, pg_dsn)
    service = start_service("alerts")
    poll(lambda: service.get("/v1/alerts").json()["count"] == 2, timeout=30, what="HD.CG and HD.GL firing")
    report = fuzz(load_schema(service.url), base_url=service.url, max_examples=EXAMPLES, headers=ADMIN_AUTH,
                  prepare=from_now_for_an_hour)  # fmt: skip
    print(f"\nalerts: {report.examples} requests; {report}")
    assert set(report.statuses) >= {"GET /v1/alerts", "GET /v1/alerts/history", *ALERTS_WRITES}
    assert {200, 404, 422} <= report.answered
    assert not {401, 403} & report.answered  # the admin token was accepted


def test_inputs_that_once_broke_the_alerts_api_are_refused_with_a_reason(
    start_service: Callable[[str], ServiceUnderTest],
) -> None:
    service = start_service("alerts")
    wrong = []
    for method, path, body in ONCE_ANSWERED_500:
        response = httpx.request(method, service.url + path, json=body, headers=ADMIN_AUTH, timeout=10)
        if response.status_code != 422 or explanation(response.json()) is None:
            wrong.append((method, path, body, response.status_code, response.text[:200]))
    assert wrong == []


@pytest.mark.parametrize(("name", "writes"), [("ingest", INGEST_WRITES), ("alerts", ALERTS_WRITES)])
def test_writes_without_credentials_are_refused_with_a_401_that_says_why(
    name: str, writes: set[str], start_service: Callable[[str], ServiceUnderTest]
) -> None:
    service = start_service(name)
    report = fuzz(load_schema(service.url), base_url=service.url, max_examples=10, modes=[GenerationMode.POSITIVE],
                  anonymous=True, methods=["POST", "PUT", "PATCH", "DELETE"])  # fmt: skip
    print(f"\n{name} without credentials: {report.examples} requests; {report}")
    assert {operation: set(counts) for operation, counts in report.statuses.items()} == {w: {401} for w in writes}
