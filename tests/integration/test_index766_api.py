"""The Decision 766 index end to end: events POSTed to the ingest API -> Kafka -> metrics -> /v1/index766, the
ranking, the gauges and the CLI scorecard, reproducing DOMAIN.md's published examples."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.metrics.scorecard import print_scorecard
from shared.kpi_catalogue import VIETNAM
from shared.settings import KafkaSettings, TopicSettings
from tests.integration.test_metrics_service import eventually
from tests.support.index766 import (
    Clock,
    completed,
    counted_events,
    event,
    ingest_client,
    metrics_client,
    metrics_settings,
    post_events,
    received,
)

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=VIETNAM)
WARD, QUIET_WARD, PROVINCE = "H24.100", "H24.101", "H24"
DAY = timedelta(days=1)


def october(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 10, day, hour, 0, tzinfo=VIETNAM)


def published_example() -> list[dict[str, Any]]:
    """2,971 dossiers received in October 2026, 2,348 of them on time; 1,707 payments, 1,516 of them online on 12
    of 35 fee-bearing procedures; 3 feedback items closed on time and satisfied."""
    events: list[dict[str, Any]] = []
    for i in range(2000):  # completed before the due day; the first 1,707 paid
        dossier, at = f"A-{i}", october(1 + i % 20)
        if i < 1516:
            procedure, channel = f"FEE.{1 + i % 12:02d}", "national_portal"
        elif i < 1707:
            procedure, channel = f"FEE.{13 + i % 23:02d}", "direct"
        else:
            procedure, channel = f"FEE.{1 + i % 35:02d}", None
        due = (at + 5 * DAY).isoformat()
        events += [received(at, WARD, dossier, procedure=procedure, fee_bearing=True, due_at=due),
                   completed(at + 2 * DAY, WARD, dossier, procedure=procedure)]  # fmt: skip
        if channel is not None:
            events.append(event("dossier.paid", at + DAY, WARD, dossier_id=dossier, procedure_code=procedure,
                                channel=channel))  # fmt: skip
    for i in range(300):  # in progress on 31 October and due later: on time (and still on 20 November)
        at = october(10 + i % 20)
        events.append(received(at, WARD, f"B-{i}", due_at=datetime(2026, 11, 25, 17, tzinfo=VIETNAM).isoformat()))
    for i in range(48):  # completed 3 days after the due time, paused 5 days before it: on time
        dossier, at = f"C-{i}", october(2)
        events += [received(at, WARD, dossier, due_at=(at + 4 * DAY).isoformat()),
                   event("dossier.paused", at + DAY, WARD, dossier_id=dossier, procedure_code="1.0001",
                         reason="supplement"),
                   event("dossier.resumed", at + 6 * DAY, WARD, dossier_id=dossier, procedure_code="1.0001"),
                   completed(at + 7 * DAY, WARD, dossier)]  # fmt: skip
    for i in range(400):  # completed after the due day: late
        dossier, at = f"D-{i}", october(3 + i % 10)
        events += [received(at, WARD, dossier, due_at=(at + 2 * DAY).isoformat()),
                   completed(at + 5 * DAY, WARD, dossier)]  # fmt: skip
    for i in range(123):  # in progress on 31 October and past the due day: overdue
        events.append(received(october(15), WARD, f"E-{i}", due_at=october(25).isoformat()))
    for i in range(100):  # completed in time, but papers were requested twice: overdue
        dossier, at = f"F-{i}", october(5)
        events += [received(at, WARD, dossier, due_at=(at + 9 * DAY).isoformat())]
        for k in range(2):
            events += [event("dossier.paused", at + (0.2 + k * 0.3) * DAY, WARD, dossier_id=dossier,
                             procedure_code="1.0001", reason="supplement"),
                       event("dossier.resumed", at + (0.3 + k * 0.3) * DAY, WARD, dossier_id=dossier,
                             procedure_code="1.0001")]  # fmt: skip
        events.append(completed(at + DAY, WARD, dossier))
    events += [event("feedback.closed", october(20 + k), WARD, feedback_id=f"FB-{k}", on_time=True, score=5)
               for k in range(3)]  # fmt: skip
    # A quiet ward: a few dossiers, no feedback at all.
    events += [received(october(6), QUIET_WARD, f"Q-{i}", due_at=october(30).isoformat()) for i in range(5)]
    random.Random(766).shuffle(events)  # any arrival order (a completion before its reception, ...)
    return events


def points(card: dict[str, Any], group: str, indicator: str | None = None) -> Any:
    found = next(g for g in card["groups"] if g["group"] == group)
    if indicator is None:
        return found["points"]
    return next(i for i in found["indicators"] if i["indicator"] == indicator)


async def test_published_examples_are_reproduced_end_to_end(
    kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    clock = Clock(NOW)
    catalogue_file = tmp_path / "catalogue.yaml"  # the catalogue share C of the published example
    catalogue_file.write_text(yaml.safe_dump({"units": {WARD: {"fee_procedures": 35, "fee_procedures_on_portal": 7}}}))
    settings = metrics_settings(kafka_settings, topics, pg_dsn, metrics_index766_catalogue_file=catalogue_file)
    async with ingest_client(kafka_settings, topics, tmp_path=tmp_path, clock=clock) as ingest:
        await post_events(ingest, events := published_example())
    async with metrics_client(settings, clock) as client:

        async def all_counted() -> bool:
            if await counted_events(client) != len(events):
                return False
            province = (await client.get("/v1/kpis?kpi=online_submission_rate&window=ytd&unit=H24")).json()
            return bool(province["items"])  # the unit tree is loaded

        await eventually(all_counted, within=120, what=f"all {len(events)} events counted")
        response = await client.get(f"/v1/index766?unit={WARD}&period=2026-10")
        assert response.status_code == 200
        card = response.json()
        assert set(card) == {"unit_code", "period", "total", "max_total", "coverage", "groups"}
        assert (card["unit_code"], card["period"], card["max_total"]) == (WARD, "2026-10", 100)
        on_time = points(card, "progress", "on_time")
        assert (on_time["numerator"], on_time["denominator"]) == (2348, 2971)
        assert points(card, "progress") == pytest.approx(15.81, abs=0.015)
        assert points(card, "satisfaction", "dossier_satisfaction")["points"] == pytest.approx(5.27, abs=0.015)
        paid_online = points(card, "online_payment", "dossiers_paid_online")
        assert (paid_online["numerator"], paid_online["denominator"]) == (1516, 1707)
        procedures = points(card, "online_payment", "procedures_paid_online")
        assert (procedures["numerator"], procedures["denominator"]) == (12, 35)
        catalogue = points(card, "online_payment", "procedures_set_up_for_payment")
        assert (catalogue["numerator"], catalogue["denominator"]) == (7, 35)
        assert points(card, "online_payment") == pytest.approx(6.69, abs=0.015)
        assert points(card, "satisfaction", "feedback_on_time")["points"] == 6.0
        assert points(card, "satisfaction", "feedback_satisfied")["points"] == 6.0
        # No upstream feeds transparency: no data (null), never 0 or full marks; coverage says so.
        assert points(card, "transparency") is None
        transparency = next(g for g in card["groups"] if g["group"] == "transparency")
        assert [i["points"] for i in transparency["indicators"]] == [None, None, None, None]
        assert points(card, "online_service") is None
        assert points(card, "digitization", "electronic_result")["points"] == 6.0  # every result electronic
        assert card["coverage"] == pytest.approx(0.54)
        groups_total = sum(g["points"] or 0 for g in card["groups"])
        assert card["total"] == pytest.approx(groups_total, abs=0.015)

        quiet = (await client.get(f"/v1/index766?unit={QUIET_WARD}&period=2026-10")).json()
        assert points(quiet, "satisfaction", "feedback_on_time")["points"] == 6.0
        assert points(quiet, "satisfaction", "feedback_satisfied")["points"] == 6.0
        assert points(quiet, "satisfaction", "feedback_on_time")["denominator"] == 0
        quiet_progress = points(quiet, "progress", "on_time")  # still open on 31 October, due the 30th: overdue
        assert (quiet_progress["numerator"], quiet_progress["denominator"]) == (0, 5)

        # The current quarter is served from memory, refreshed in the background: it follows the counting.
        async def province_quarter() -> dict[str, Any] | None:
            body = (await client.get(f"/v1/index766?unit={PROVINCE}&period=2026-Q4")).json()
            rolled: dict[str, Any] = points(body, "progress", "on_time")
            return rolled if rolled["denominator"] == 2971 + 5 else None  # the province's subtree, summed

        rolled = await eventually(province_quarter, within=60, what="the province's quarter to date")
        # Completed on time in the quarter (2,000 + 48) and, on 20 November, in progress and not yet due (300).
        assert rolled["numerator"] == 2000 + 48 + 300

        ranking = (await client.get("/v1/index766/ranking?period=2026-10&level=commune")).json()
        assert (ranking["period"], ranking["previous_period"], ranking["level"]) == ("2026-10", "2026-09", "commune")
        first = ranking["units"][0]
        assert (first["rank"], first["unit_code"], first["unit_name"], first["total"]) == (
            1, WARD, "Phường Thủy Nguyên", card["total"],
        )  # fmt: skip
        # September had no dossiers: only the feedback indicators' full marks of a unit without feedback (6 + 6)
        # and the catalogue share C, which no period changes (2.5 x 7/35 = 0.5).
        assert first["previous_total"] == 12.5
        assert first["score_delta"] == pytest.approx(card["total"] - 12.5, abs=0.011)
        assert len(ranking["units"]) == 114  # today's communes of the sample tree

        # The current month to date: November carries the ward's 300 + 123 dossiers still in progress, 300 not yet
        # due on 20 November. The gauges follow the counting (a refresh every 0.5 s here): wait for the final value.
        expected = round(20 * 300 / 423, 2)

        async def november_gauge() -> float | None:
            text = (await client.get("/metrics")).text
            labels = f'group="progress",level="commune",period="month",unit="{WARD}"'
            line = next((x for x in text.splitlines() if x.startswith(f"civicpulse_index766_group_points{{{labels}}}")),
                        None)  # fmt: skip
            value = None if line is None else float(line.rsplit(" ", 1)[1])
            return value if value == pytest.approx(expected) else None

        assert await eventually(november_gauge, within=60, what=f"the ward's November progress gauge at {expected}")
        exposition = (await client.get("/metrics")).text
        assert f'civicpulse_index766_coverage{{level="commune",period="year",unit="{WARD}"}}' in exposition
        assert 'civicpulse_index766_total{level="province",period="quarter",unit="H24"}' in exposition

        for bad, where in (("2026-13", "period"), ("2027", "period"), ("next", "period")):
            response = await client.get(f"/v1/index766?unit={WARD}&period={bad}")
            assert response.status_code == 422
            assert where in response.text
            assert bad in response.text
        unknown = await client.get("/v1/index766?unit=NO.SUCH&period=2026-10")
        assert unknown.status_code == 404
        assert "NO.SUCH" in unknown.text

        capsys.readouterr()
        await print_scorecard(client, unit=WARD, period="2026-10")
        printed = capsys.readouterr().out
        assert "15.81" in printed
        assert "6.69" in printed
        assert "no data" in printed
