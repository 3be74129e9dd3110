"""Hypothesis against the OpenAPI document: whatever the path, headers and body, the API never answers 5xx."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.devstack.kafka import REPO_ROOT
from shared.devstack.processes import free_port, spawn, stop_pid, wait_until
from shared.devstack.stack import http_ok
from shared.settings import KafkaSettings, TopicSettings

pytestmark = pytest.mark.integration

VALID = {
    "dossier.received": {"dossier_id": "D-1", "procedure_code": "P-1", "channel": "online",
                         "service_level": "full_online", "essential": True, "digitized": False},
    "dossier.completed": {"dossier_id": "D-1", "procedure_code": "P-1", "outcome": "approved",
                          "result_channel": "postal", "electronic_result": True},
    "dossier.rated": {"dossier_id": "D-1", "procedure_code": "P-1", "score": 4},
    "feedback.closed": {"feedback_id": "F-1", "on_time": True},
    "procedure.published": {"procedure_code": "P-1", "service_level": "offline"},
}  # fmt: skip
AUTH = {"Authorization": "Bearer demo-token"}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def batch_of(source: str) -> bytes:
    """Two valid events from `source`, as NDJSON."""
    common = {"event_id": "00000000-0000-4000-8000-00000000000{}", "occurred_at": "2024-04-19T08:30:00+07:00",
              "source": source, "unit_code": "U-1"}  # fmt: skip
    events = [{**common, "event_id": common["event_id"].format(i), "type": kind, **VALID[kind]}
              for i, kind in enumerate(("dossier.received", "feedback.closed"))]  # fmt: skip
    return "\n".join(json.dumps(e) for e in events).encode()


@st.composite
def event_like(draw: st.DrawFn, fields: dict[str, list[str]]) -> dict[str, Any]:
    """A valid event of a type from the OpenAPI schemas, then fields dropped, replaced or added at random."""
    kind = draw(st.sampled_from(sorted(VALID)))
    event: dict[str, Any] = {
        "type": kind, "event_id": str(draw(st.uuids())), "occurred_at": "2024-04-19T08:30:00+07:00",
        "source": draw(st.sampled_from(["demo", "demo", "other"])), "unit_code": "U-1", **VALID[kind],
    }  # fmt: skip
    for name in draw(st.lists(st.sampled_from(fields[kind]), max_size=3)):
        if draw(st.booleans()):
            event.pop(name, None)
        else:
            event[name] = draw(JSON_VALUES)
    if draw(st.integers(0, 9)) == 0:
        event[draw(st.text(max_size=8))] = draw(JSON_VALUES)
    return event


def requests(openapi: dict[str, Any]) -> st.SearchStrategy[tuple[str, dict[str, str], bytes]]:
    """(path, headers, body) built from the document's POST operations, content types and event schemas."""
    schemas = openapi["components"]["schemas"]
    names = {"dossier.received": "DossierReceived", "dossier.completed": "DossierCompleted",
             "dossier.rated": "DossierRated", "feedback.closed": "FeedbackClosed",
             "procedure.published": "ProcedurePublished"}  # fmt: skip
    fields = {kind: sorted(schemas[name]["properties"]) for kind, name in names.items()}
    posts = sorted(path for path, item in openapi["paths"].items() if "post" in item)
    media = sorted({m for path in posts for m in openapi["paths"][path]["post"]["requestBody"]["content"]})
    events = st.lists(event_like(fields), max_size=5)
    bodies = st.one_of(
        events.map(lambda items: json.dumps(items).encode()),
        events.map(lambda items: "\n".join(json.dumps(e) for e in items).encode()),
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=200),
    )
    auth = st.sampled_from([None, "Bearer demo-token", "Bearer wrong", "Basic ZGVtbzp4", "Bearer", "demo-token"])
    content_type = st.one_of(st.none(), st.sampled_from(media), st.sampled_from(["text/plain", "application/json;"]))

    @st.composite
    def request(draw: st.DrawFn) -> tuple[str, dict[str, str], bytes]:
        headers = {}
        if (token := draw(auth)) is not None:
            headers["Authorization"] = token
        if (kind := draw(content_type)) is not None:
            headers["Content-Type"] = kind
        path = draw(st.sampled_from([*posts, "/v1/adapters/nope", "/v1/events/x"]))
        return path, headers, draw(bodies)

    return request()


@pytest.fixture
def base_url(kafka_settings: KafkaSettings, topics: TopicSettings, tmp_path: Path) -> Iterator[str]:
    """`civicpulse ingest serve` as a process of its own (uvicorn, development credential) on this test's topics."""
    port = free_port()
    env = {**os.environ, "CIVICPULSE_ENVIRONMENT": "development", "CIVICPULSE_HTTP_PORT": str(port),
           "CIVICPULSE_KAFKA_BOOTSTRAP": kafka_settings.kafka_bootstrap, "CIVICPULSE_LOG_LEVEL": "WARNING",
           **{f"CIVICPULSE_{k.upper()}": str(v) for k, v in topics.model_dump().items()}}  # fmt: skip
    env.pop("CIVICPULSE_INGEST_TOKENS_FILE", None)
    command = [sys.executable, "-c", "from services.ingest.cli import app; app()", "serve"]
    process = spawn(command, log_file=tmp_path / "ingest.log", pid_file=tmp_path / "ingest.pid", env=env, cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/readyz"), timeout=30, what="ingest serve",
                   alive=lambda: process.poll() is None)  # fmt: skip
        yield url
    finally:
        stop_pid(process.pid)


def test_api_never_answers_5xx_whatever_the_input(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        openapi = client.get("/openapi.json").json()
        documented = {int(c) for path in openapi["paths"].values() for c in path.get("post", {}).get("responses", {})}
        seen: set[int] = set()

        @settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(requests(openapi))
        @example(("/v1/events", {**AUTH, "Content-Type": "application/x-ndjson"}, batch_of("demo")))  # 202
        @example(("/v1/events", {**AUTH, "Content-Type": "application/x-ndjson"}, batch_of("other")))  # 403
        # and the other answers the final assertion wants seen, whatever the random examples happen to reach
        @example(("/v1/events", {**AUTH, "Content-Type": "application/json"}, b"[{"))  # 422
        @example(("/v1/events", {"Content-Type": "application/json"}, b"[]"))  # 401
        @example(("/v1/events", {**AUTH, "Content-Type": "text/plain"}, b"[]"))  # 415
        def check(request: tuple[str, dict[str, str], bytes]) -> None:
            path, headers, body = request
            response = client.post(path, content=body, headers=headers)
            seen.add(response.status_code)
            assert response.status_code < 500, (path, headers, body, response.text)
            assert response.status_code in documented | {404}, (path, response.status_code, response.text)
            if response.status_code == 202:
                assert response.json()["accepted"] == len(response.json()["event_ids"])
            if response.status_code == 422:
                assert all({"index", "path", "message"} <= set(p) for p in response.json()["problems"])

        check()
    assert {202, 401, 403, 415, 422} <= seen, seen
