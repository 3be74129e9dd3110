"""The shipped default rules over the whole pipeline (ingest, metrics, alerts, the simulator) as real processes: a
province behaving as the seeds describe pages nobody and fills the digest; a district that slips pages once.

Time is compressed with CIVICPULSE_ALERTS_TIME_SCALE=240: the KPI rules' `for` of 15m is 3.75 s, a slip's
4-hour period one minute, a digest rule's 1h `for` 15 s; the receiver's digest comes every 20 s (backlog and
staleness rules follow the wall clock: not compressed). The KPI windows (7d,
30d) are the metrics service's own, filled by the simulator's backfilled week.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.alerts.settings import DEFAULT_RULES_FILE
from shared.settings import KafkaSettings, TopicSettings
from tests.support.alerting import HttpSink, eventually
from tests.support.pipeline import Pipeline, simulator_done
from tests.support.services import ServiceUnderTest

pytestmark = pytest.mark.e2e
SLIP = "online_submission_rate.slip.district/HD.CG"
STEADY = ["--profile", "haiduong", "--backfill", "7d", "--backfill-events", "60000"]


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    server = HttpSink().start()
    yield server
    server.stop()


@pytest.fixture
def pipeline(kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str, tmp_path: Path) -> Iterator[Pipeline]:
    built = Pipeline(kafka=kafka_settings, topics=topics, pg_dsn=pg_dsn, workdir=tmp_path)
    yield built
    built.stop()


def start_alerts(pipeline: Pipeline, sink: HttpSink, tmp_path: Path) -> ServiceUnderTest:
    """The alerts service on the shipped rules, routed to one webhook that groups and gets a digest every 20 s."""
    shipped = yaml.safe_load(DEFAULT_RULES_FILE.read_text("utf-8"))
    shipped["defaults"]["receivers"] = ["hook"]  # the rules as shipped; only who hears them is ours
    rules, receivers = tmp_path / "rules.yaml", tmp_path / "receivers.yaml"
    rules.write_text(yaml.safe_dump(shipped, sort_keys=False, allow_unicode=True))
    receivers.write_text(
        f'receivers: [{{name: hook, type: webhook, url: "{sink.url}/hook", group_wait: 1s, group_interval: 2s, '
        "digest_every: 20s}]\n"
    )
    env = {
        **pipeline.env,
        "CIVICPULSE_ALERTS_RULES_FILE": str(rules),
        "CIVICPULSE_ALERTS_RECEIVERS_FILE": str(receivers),
        "CIVICPULSE_ALERTS_TIME_SCALE": "240",
        "CIVICPULSE_ALERTS_GROUP_ID": f"alerts-{uuid.uuid4().hex[:6]}",
        "CIVICPULSE_ALERTS_OFFSET_RESET": "earliest",
        "CIVICPULSE_ALERTS_EVAL_INTERVAL_S": "0.5",
        "CIVICPULSE_ALERTS_DISPATCH_POLL_S": "0.2",
        "CIVICPULSE_ALERTS_DIGEST_POLL_S": "0.5",
        "CIVICPULSE_ALERTS_ADMIN_TOKEN": "e2e-admin-token",
    }
    service = ServiceUnderTest("alerts", ["alerts", "serve"], env=env, log_dir=tmp_path)
    pipeline.others.append(service)  # stopped with the pipeline, whatever the test's outcome
    service.start()
    return service


def notifications(sink: HttpSink) -> list[dict[str, Any]]:
    """Every alert notification the webhook got, the members of groups included (digests apart)."""
    found = []
    for body in (r.json() for r in sink.delivered("/hook")):
        if body["kind"] == "group":
            found.extend(body["notifications"])
        elif body["kind"] != "digest":
            found.append(body)
    return found


def pages(sink: HttpSink) -> list[tuple[str, str]]:
    return [(n["alert_id"], n["kind"]) for n in notifications(sink) if n["labels"]["notify"] == "page"]


def digests(sink: HttpSink) -> list[dict[str, Any]]:
    return [body for body in (r.json() for r in sink.delivered("/hook")) if body["kind"] == "digest"]


def digest_listing(sink: HttpSink, *kpis: str) -> dict[str, Any] | None:
    """The newest digest listing every one of these KPIs for the province, if any."""
    for digest in reversed(digests(sink)):
        listed = {(e["labels"].get("kpi"), e["subject"]) for e in digest["entries"]}
        if all((kpi, "HD") in listed for kpi in kpis):
            return digest
    return None


def firing(alerts: ServiceUnderTest, notify: str) -> list[str]:
    items = alerts.get(f"/v1/alerts?status=firing&notify={notify}").json()["items"]
    assert {a["labels"]["notify"] for a in items} <= {notify}
    return [a["alert_id"] for a in items]


def firing_pages(alerts: ServiceUnderTest) -> list[str]:
    return firing(alerts, "page")


def simulate(pipeline: Pipeline, tmp_path: Path, *, events: int, extra: list[str]) -> subprocess.Popen[bytes]:
    return pipeline.simulate(events=events, seed=11, record=tmp_path / "record.ndjson", rate="100/s", extra=extra)


@pytest.mark.timeout(600)
async def test_steady_traffic_pages_nobody_and_the_digest_lists_the_chronic_gaps(
    pipeline: Pipeline, sink: HttpSink, tmp_path: Path
) -> None:
    pipeline.ingest.start()
    pipeline.add_metrics()
    alerts = start_alerts(pipeline, sink, tmp_path)
    # Two and a half minutes of live traffic: every rule's `for` many times over, and two full 4-hour periods.
    simulator = simulate(pipeline, tmp_path, events=15_000, extra=STEADY)
    digest = await eventually(
        lambda: digest_listing(sink, "full_online_rate", "on_time_rate"),
        timeout=300,
        what="a digest listing the province's full-online and on-time gaps",
    )
    simulator_done(simulator, tmp_path / "simulate-11.log")

    assert firing_pages(alerts) == []
    assert pages(sink) == []  # not one page in the whole run
    assert "full_online_rate.gap.province/HD" in firing(alerts, "digest")
    gaps = {(e["labels"]["kpi"], e["subject"]): e for e in digest["entries"]}
    province = gaps[("full_online_rate", "HD")]
    assert 0.14 < province["value"] < 0.18
    assert province["target"] == 0.3
    assert gaps[("on_time_rate", "HD")]["value"] < 0.95
    assert [e["gap"] for e in digest["entries"]] == sorted((e["gap"] for e in digest["entries"]), reverse=True)
    assert {e["labels"]["notify"] for e in digest["entries"]} == {"digest"}
    later = [d for d in digests(sink) if d["previous_slot"] is not None and d["entries"]]
    assert any(not e["new"] and e["change"] is not None for d in later for e in d["entries"])  # change since last


@pytest.mark.timeout(900)
async def test_a_district_that_slips_pages_once_and_the_page_resolves_when_the_incident_ends(
    pipeline: Pipeline, sink: HttpSink, tmp_path: Path
) -> None:
    pipeline.ingest.start()
    pipeline.add_metrics()
    alerts = start_alerts(pipeline, sink, tmp_path)
    # Steady first (the backfill, then a minute and more of live traffic), then HD.CG's online submission at 40%
    # for 80 s (five hours of the compressed clock), then steady again until the run's 25,000 live events.
    incident = "district=HD.CG,kpi=online_submission_rate,to=0.4,for=80s,after=100s"
    simulator = simulate(pipeline, tmp_path, events=25_000, extra=[*STEADY, "--incident", incident])
    await eventually(lambda: (SLIP, "firing") in pages(sink), timeout=400, what="the page for HD.CG's slip")
    assert firing_pages(alerts) == [SLIP]
    await eventually(lambda: (SLIP, "resolved") in pages(sink), timeout=400, what="the page resolving")
    simulator_done(simulator, tmp_path / "simulate-11.log")

    assert pages(sink) == [(SLIP, "firing"), (SLIP, "resolved")]  # exactly one page, resolved, nothing else
    assert firing_pages(alerts) == []
    [firing] = [n for n in notifications(sink) if n["alert_id"] == SLIP and n["kind"] == "firing"]
    assert firing["labels"]["unit"] == "HD.CG"
    assert firing["value"] < firing["target"] == 0.8
    assert firing["annotations"]["summary"].startswith("online_submission_rate of Huyện Cẩm Giàng slipped to ")
