"""The ingest HTTP API against the session's real Kafka; what was published is read back with kcat."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from services.ingest.auth import hash_token
from services.ingest.core.adapters import AdapterContext, ProcedureInfo
from services.ingest.main import create_app
from services.ingest.settings import IngestSettings
from shared.events import ServiceLevel, parse_event
from shared.refdata import load_reference_data
from shared.settings import KafkaSettings, TopicSettings

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2025, 7, 25, 3, 0, tzinfo=UTC)
CATALOGUE = AdapterContext(
    procedure_lookup={
        "1.001612": ProcedureInfo(service_level=ServiceLevel.PARTIAL_ONLINE, essential=True),
        "2.000123": ProcedureInfo(service_level=ServiceLevel.FULL_ONLINE, essential=False),
        "1.000456": ProcedureInfo(service_level=ServiceLevel.OFFLINE, essential=False),
    }.get,
    unit_lookup=load_reference_data().tree.resolve,
)
TOKENS = {"portal-a": ["a-old", "a-new"], "portal-b": ["b-1"], "slow-portal": ["s-1"]}
AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def received(source: str = "portal-a", *, dossier: str = "D-1", **overrides: Any) -> dict[str, Any]:
    return {
        "type": "dossier.received", "event_id": str(uuid.uuid4()), "occurred_at": "2024-04-19T08:30:00+07:00",
        "source": source, "unit_code": "HD.STP", "dossier_id": dossier, "procedure_code": "TTHC.STP.001",
        "channel": "online", "service_level": "full_online", "essential": False, "digitized": True, **overrides,
    }  # fmt: skip


def read_back(bootstrap: str, topic: str) -> list[tuple[str, dict[str, Any]]]:
    """(key, body) of every record on the topic, read by kcat (an independent client)."""
    out = subprocess.run(
        ["kcat", "-b", bootstrap, "-t", topic, "-C", "-e", "-q", "-f", "%k\t%s\n"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return [(key, json.loads(body)) for key, body in (line.split("\t", 1) for line in out.splitlines() if line)]


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    sources: dict[str, Any] = {s: {"tokens": [hash_token(t) for t in tokens]} for s, tokens in TOKENS.items()}
    sources["slow-portal"]["rate_limit"] = {"events_per_second": 0.01, "burst": 5}
    path = tmp_path / "tokens.yaml"
    path.write_text(yaml.safe_dump({"sources": sources}))
    return path


@pytest.fixture
def ingest(kafka_settings: KafkaSettings, topics: TopicSettings, tokens_file: Path) -> AppFactory:
    """Start the app (lifespan included) on this test's topics; keyword arguments override settings."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = IngestSettings(
            **kafka_settings.model_dump(), **topics.model_dump(), environment="test", ingest_tokens_file=tokens_file,
            **overrides,
        )  # fmt: skip
        app = create_app(settings, adapter_context=CATALOGUE, clock=lambda: NOW, monotonic=lambda: 1000.0)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as client,
        ):
            yield client

    return start


async def test_accepted_events_are_read_back_by_kcat_with_entity_keys(
    ingest: AppFactory, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    now = "2024-04-20T09:00:00+07:00"
    batch = [
        received(dossier="D-42"),
        {"type": "feedback.closed", "event_id": str(uuid.uuid4()), "occurred_at": now, "source": "portal-a",
         "unit_code": "HD.STP", "feedback_id": "F-7", "on_time": True, "score": 5},
        {"type": "procedure.published", "event_id": str(uuid.uuid4()), "occurred_at": now, "source": "portal-a",
         "unit_code": "HD.STP", "procedure_code": "TTHC.STP.001", "service_level": "full_online"},
    ]  # fmt: skip
    async with ingest() as client:
        response = await client.post("/v1/events", json=batch, headers=bearer("a-new"))

    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "event_ids": [e["event_id"] for e in batch]}
    records = read_back(kafka_settings.kafka_bootstrap, topics.topic_events)
    by_id = {body["event_id"]: (key, body) for key, body in records}
    assert len(records) == 3
    assert by_id[batch[0]["event_id"]][0] == "D-42"
    assert by_id[batch[1]["event_id"]][0] == "F-7"
    assert by_id[batch[2]["event_id"]][0] == "HD.STP/TTHC.STP.001"
    for sent in batch:
        assert parse_event(json.dumps(by_id[sent["event_id"]][1])) == parse_event(json.dumps(sent))


async def test_ndjson_batch_is_accepted_in_order(
    ingest: AppFactory, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    batch = [received(dossier="D-9", occurred_at=f"2024-04-19T0{h}:00:00+07:00") for h in range(1, 6)]
    body = "\n".join(json.dumps(e) for e in batch) + "\n\n"
    async with ingest() as client:
        response = await client.post(
            "/v1/events", content=body, headers={**bearer("a-old"), "Content-Type": "application/x-ndjson"}
        )

    assert response.status_code == 202
    assert response.json()["accepted"] == 5
    records = read_back(kafka_settings.kafka_bootstrap, topics.topic_events)
    assert [body["event_id"] for key, body in records if key == "D-9"] == [e["event_id"] for e in batch]


async def test_invalid_batch_names_each_bad_field_and_publishes_nothing(
    ingest: AppFactory, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    bad = [
        received(),
        received(channel="fax"),
        {k: v for k, v in received().items() if k != "dossier_id"},
        received(occurred_at=(NOW + timedelta(hours=25)).isoformat()),
        received(type="dossier.lost"),
    ]
    async with ingest() as client:
        response = await client.post("/v1/events", json=bad, headers=bearer("a-new"))
        sentinel = await client.post("/v1/events", json=[received(dossier="sentinel")], headers=bearer("a-new"))

    assert response.status_code == 422
    body = response.json()
    problems = {(p["index"], tuple(p["path"])) for p in body["problems"]}
    assert problems == {(1, ("channel",)), (2, ("dossier_id",)), (3, ("occurred_at",)), (4, ("type",))}
    assert body["problem_count"] == 4
    assert "future" in next(p["message"] for p in body["problems"] if p["index"] == 3)
    assert sentinel.status_code == 202
    assert [key for key, _ in read_back(kafka_settings.kafka_bootstrap, topics.topic_events)] == ["sentinel"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"[{]", [{"index": None, "path": []}]),
        (b'{"type": "dossier.received"}', [{"index": None, "path": []}]),
    ],
)
async def test_body_that_is_not_a_json_array_is_422(ingest: AppFactory, body: bytes, expected: list[Any]) -> None:
    async with ingest() as client:
        response = await client.post(
            "/v1/events", content=body, headers={**bearer("a-new"), "Content-Type": "application/json"}
        )

    assert response.status_code == 422
    assert [{"index": p["index"], "path": p["path"]} for p in response.json()["problems"]] == expected


async def test_missing_or_wrong_token_is_401_and_other_sources_events_are_403(
    ingest: AppFactory, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    async with ingest() as client:
        missing = await client.post("/v1/events", json=[received()])
        wrong = await client.post("/v1/events", json=[received()], headers=bearer("a-older"))
        not_bearer = await client.post("/v1/events", json=[received()], headers={"Authorization": "Basic YTpi"})
        foreign = await client.post(
            "/v1/events", json=[received("portal-b"), received("portal-a")], headers=bearer("b-1")
        )
        adapter_anonymous = await client.post("/v1/adapters/dvcqg", json=[])

    for response in (missing, wrong, not_bearer, adapter_anonymous):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert foreign.status_code == 403
    assert "'portal-a'" in foreign.json()["detail"]
    assert read_back(kafka_settings.kafka_bootstrap, topics.topic_events) == []


async def test_limits_answer_413_and_415(ingest: AppFactory) -> None:
    async with ingest(ingest_max_batch_events=3, ingest_max_body_bytes=4000) as client:
        too_many = await client.post("/v1/events", json=[received() for _ in range(4)], headers=bearer("a-new"))
        too_big = await client.post(
            "/v1/events", content=b"[" + b" " * 5000 + b"]",
            headers={**bearer("a-new"), "Content-Type": "application/json"},
        )  # fmt: skip
        wrong_type = await client.post(
            "/v1/events", content=json.dumps([received()]), headers={**bearer("a-new"), "Content-Type": "text/plain"}
        )
        no_type = await client.post("/v1/events", content=json.dumps([received()]), headers=bearer("a-new"))

    assert too_many.status_code == 413
    assert too_big.status_code == 413
    assert wrong_type.status_code == 415
    assert no_type.status_code == 415


async def test_source_over_its_rate_gets_429_with_retry_after(ingest: AppFactory) -> None:
    async with ingest() as client:
        first = await client.post("/v1/events", json=[received("slow-portal") for _ in range(5)], headers=bearer("s-1"))
        second = await client.post("/v1/events", json=[received("slow-portal")], headers=bearer("s-1"))
        unlimited = await client.post("/v1/events", json=[received() for _ in range(50)], headers=bearer("a-new"))

    assert first.status_code == 202
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) == 100  # 1 event at 0.01 events/s
    assert unlimited.status_code == 202


async def test_dvcqg_records_are_translated_and_published(
    ingest: AppFactory, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    payload = json.loads((FIXTURES / "dvcqg" / "valid_records.json").read_text("utf-8"))
    async with ingest() as client:
        response = await client.post("/v1/adapters/dvcqg", json=payload, headers=bearer("b-1"))

    assert response.status_code == 202
    records = read_back(kafka_settings.kafka_bootstrap, topics.topic_events)
    assert sorted(body["event_id"] for _, body in records) == sorted(response.json()["event_ids"])
    assert {body["source"] for _, body in records} == {"portal-b"}
    assert all(key == body["dossier_id"] for key, body in records)
    first = next(body for _, body in records if body["dossier_id"] == "000.00.07.H24-250716-0001")
    assert datetime.fromisoformat(first["occurred_at"]) == datetime(2025, 7, 16, 1, 30, tzinfo=UTC)  # 08:30 in VN


async def test_emc_pushes_are_translated_and_unknown_codes_are_422(
    ingest: AppFactory, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    valid = json.loads((FIXTURES / "emc" / "valid_pushes.json").read_text("utf-8"))
    invalid = json.loads((FIXTURES / "emc" / "invalid_pushes.json").read_text("utf-8"))
    async with ingest() as client:
        accepted = await client.post("/v1/adapters/emc", json=valid, headers=bearer("a-new"))
        rejected = await client.post("/v1/adapters/emc", json=invalid, headers=bearer("a-new"))
        not_json = await client.post(
            "/v1/adapters/emc", content=b"<xml/>", headers={**bearer("a-new"), "Content-Type": "application/json"}
        )

    assert accepted.status_code == 202
    assert accepted.json()["accepted"] > 0
    assert rejected.status_code == 422
    messages = {(p["index"], p["path"][0]): p["message"] for p in rejected.json()["problems"]}
    assert "unknown code 5" in messages[(0, "Status")]
    assert "unknown procedure code 9.999999" in messages[(1, "CodeTTHC")]
    assert "unknown code 3" in messages[(1, "FormsReception")]
    assert "unknown unit: MaHoSo '999.00.00.H24', SiteId 'emc-h99-1'" in messages[(2, "MaHoSo")]
    assert not_json.status_code == 422
    stored = {body["event_id"] for _, body in read_back(kafka_settings.kafka_bootstrap, topics.topic_events)}
    assert stored == set(accepted.json()["event_ids"])


async def test_readyz_pings_kafka_and_metrics_count_requests_and_events(ingest: AppFactory) -> None:
    async with ingest() as client:
        await client.post("/v1/events", json=[received(), received()], headers=bearer("a-new"))
        await client.post("/v1/events", json=[received(channel="fax")], headers=bearer("a-new"))
        ready = await client.get("/readyz")
        metrics = (await client.get("/metrics")).text

    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"kafka": "ok"}}
    assert 'civicpulse_ingest_http_requests_total{method="POST",route="/v1/events",status="202"} 1.0' in metrics
    assert 'civicpulse_ingest_http_requests_total{method="POST",route="/v1/events",status="422"} 1.0' in metrics
    assert (
        'civicpulse_ingest_events_accepted_total{intake="http",source="portal-a",type="dossier.received"} 2.0'
        in metrics
    )
    assert 'civicpulse_ingest_events_rejected_total{intake="http",reason="invalid",source="portal-a"' in metrics
    assert 'civicpulse_ingest_batch_events_count{intake="http"} 2.0' in metrics
    assert "faststream_" in metrics
