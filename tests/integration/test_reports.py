"""Period reports: a closed quarter and the 92 days before it, as JSON, CSV and XLSX, read back and compared with
figures computed here straight from the events."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from services.metrics.reports import HEADERS
from shared.events import DossierCompleted, DossierRated, DossierReceived, Event, FeedbackClosed, event_adapter
from shared.kpi_catalogue import VIETNAM
from shared.refdata import load_reference_data
from shared.settings import KafkaSettings, TopicSettings
from tests.integration.test_metrics_service import eventually
from tests.support.index766 import (
    Clock,
    completed,
    counted_events,
    event,
    metrics_client,
    metrics_settings,
    received,
)
from tests.support.services import produce

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=VIETNAM)
WARDS = ("H24.100", "H24.102")
FIRST, LAST = date(2026, 7, 1), date(2026, 9, 30)
PREVIOUS = (date(2026, 3, 31), date(2026, 6, 30))  # the 92 days before
SPAN = (date(2026, 3, 20), date(2026, 10, 15))  # events also fall outside both ranges


def day_of(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


def history() -> list[dict[str, Any]]:
    """Dossiers of two wards over seven months: receptions, completions (some late), ratings, feedback."""
    rng = random.Random(13)
    events: list[dict[str, Any]] = []
    days = (SPAN[1] - SPAN[0]).days
    for i in range(600):
        unit = WARDS[i % 2]
        at = datetime.combine(SPAN[0] + timedelta(days=rng.randrange(days)), datetime.min.time(), VIETNAM)
        at += timedelta(hours=rng.randrange(7, 17))
        due = at + timedelta(days=rng.randrange(1, 15))
        dossier = f"R-{i}"
        events.append(received(at, unit, dossier, channel=rng.choice(["online", "online", "in_person", "postal"]),
                               digitized=rng.random() < 0.9, due_at=due.isoformat()))  # fmt: skip
        if rng.random() < 0.8:
            done = at + timedelta(days=rng.randrange(0, 20), hours=1)
            events.append(completed(done, unit, dossier, electronic_result=rng.random() < 0.7))
            if rng.random() < 0.5:
                events.append(event("dossier.rated", done + timedelta(hours=2), unit, dossier_id=dossier,
                                    procedure_code="1.0001", score=rng.randint(1, 5)))  # fmt: skip
    for k in range(40):
        at = datetime.combine(SPAN[0] + timedelta(days=rng.randrange(days)), datetime.min.time(), VIETNAM)
        events.append(event("feedback.closed", at + timedelta(hours=9), WARDS[k % 2], feedback_id=f"FB-{k}",
                            on_time=rng.random() < 0.8, score=rng.randint(1, 5)))  # fmt: skip
    return events


def truth(events: list[Event], unit: str, first: date, last: date) -> dict[str, tuple[int, int]]:
    """(numerator, denominator) of a few KPIs and the progress indicator, from the events alone."""
    mine = [e for e in events if e.unit_code == unit]
    inside = [e for e in mine if first <= day_of(e.occurred_at) <= last]
    receptions = [e for e in inside if isinstance(e, DossierReceived)]
    completions = [e for e in inside if isinstance(e, DossierCompleted)]
    ratings = [e for e in inside if isinstance(e, DossierRated)]
    feedback = [e for e in inside if isinstance(e, FeedbackClosed)]
    received_on = {e.dossier_id: e for e in mine if isinstance(e, DossierReceived)}
    completed_on = {e.dossier_id: day_of(e.occurred_at) for e in mine if isinstance(e, DossierCompleted)}
    alive, on_time = 0, 0
    for dossier, reception in received_on.items():
        start, end = day_of(reception.occurred_at), completed_on.get(dossier)
        assert reception.due_at is not None
        due = day_of(reception.due_at)
        if start > last or (end is not None and end < first):
            continue
        alive += 1
        if end is not None and end <= last:
            on_time += end <= due
        else:
            on_time += due >= last  # in progress at the end and not yet due
    return {
        "online_submission_rate": (sum(e.channel == "online" for e in receptions), len(receptions)),
        "digitization_rate": (sum(e.digitized for e in receptions), len(receptions)),
        "online_result_rate": (sum(e.electronic_result for e in completions), len(completions)),
        "satisfaction_rate": (sum(e.score >= 4 for e in ratings), len(ratings)),
        "feedback_on_time_rate": (sum(e.on_time for e in feedback), len(feedback)),
        "766.progress.on_time": (on_time, alive),
    }


def number(cell: object) -> float | None:
    return None if cell in ("", None) else float(str(cell))


def check_rows(rows: list[list[Any]], events: list[Event]) -> None:
    """Each ward's rows hold the figures computed from the events, for the quarter and the previous 92 days."""
    names = {u: load_reference_data().tree.units[u].name for u in WARDS}
    by_key = {(r[0], r[3]): r for r in rows}
    assert {r[0] for r in rows} >= set(WARDS)
    for unit in WARDS:
        now, before = truth(events, unit, FIRST, LAST), truth(events, unit, *PREVIOUS)
        for figure, (numerator, denominator) in now.items():
            row = by_key[(unit, figure)]
            assert (row[1], row[2]) == (names[unit], "Cấp xã")
            assert (number(row[5]), number(row[6])) == (numerator, denominator), (unit, figure)
            assert number(row[7]) == pytest.approx(numerator / denominator)
            assert (number(row[10]), number(row[11])) == before[figure], (unit, figure, "previous")
        progress = by_key[(unit, "766.progress.on_time")]
        assert number(progress[8]) == pytest.approx(round(20 * now["766.progress.on_time"][0]
                                                          / now["766.progress.on_time"][1], 2))  # fmt: skip
        assert number(progress[9]) == 20
        assert by_key[(unit, "766.transparency.dossier_sync")][8] in ("", None)  # no data, not 0
        assert number(by_key[(unit, "766.total")][9]) == 100


async def test_a_closed_quarter_reads_back_from_csv_and_xlsx_with_the_events_figures(
    kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str
) -> None:
    events = [event_adapter.validate_python(e | {"source": "demo"}) for e in history()]
    await produce(kafka_settings, topics.topic_events, events)
    clock = Clock(NOW)
    async with metrics_client(metrics_settings(kafka_settings, topics, pg_dsn), clock) as client:
        query = f"from={FIRST}&to={LAST}"

        async def all_counted() -> bool:
            if await counted_events(client) != len(events):
                return False
            province = (await client.get("/v1/kpis?kpi=online_submission_rate&window=ytd&unit=H24")).json()
            return bool(province["items"])  # the unit tree is loaded

        await eventually(all_counted, within=120, what=f"all {len(events)} events counted")

        response = await client.get(f"/v1/report?unit=H24&{query}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["first_day"], body["last_day"]) == (str(FIRST), str(LAST))
        assert (body["previous_first_day"], body["previous_last_day"]) == tuple(str(d) for d in PREVIOUS)
        province = {k["kpi"]: k for k in body["units"][0]["current"]["kpis"]}
        expected = [truth(events, w, FIRST, LAST)["online_submission_rate"] for w in WARDS]
        assert (province["online_submission_rate"]["numerator"], province["online_submission_rate"]["denominator"]) == (
            sum(n for n, _ in expected), sum(d for _, d in expected),
        )  # fmt: skip
        assert len(province) == 11

        csv_response = await client.get(f"/v1/report?level=commune&{query}&format=csv")
        assert csv_response.status_code == 200
        assert csv_response.headers["content-type"].startswith("text/csv")
        table = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
        assert tuple(table[0]) == HEADERS
        assert table[0][:3] == ["Mã đơn vị", "Tên đơn vị", "Cấp"]
        check_rows(table[1:], events)
        assert len({r[0] for r in table[1:]}) == 114  # one level's units: every commune of today's tree

        xlsx_response = await client.get(f"/v1/report?level=commune&{query}&format=xlsx")
        assert xlsx_response.status_code == 200
        book = load_workbook(io.BytesIO(xlsx_response.content), read_only=True)
        sheet = [list(r) for r in book["Báo cáo"].iter_rows(values_only=True)]
        assert tuple(sheet[0]) == HEADERS
        check_rows(sheet[1:], events)
        about = {r[0]: r[1] for r in book["Thông tin"].iter_rows(values_only=True)}
        assert about["Kỳ báo cáo"] == f"{FIRST} .. {LAST}"

        for bad, says in ((f"from={FIRST}&to={NOW.date()}", "closed days only"),
                          (f"from={LAST}&to={FIRST}", "is after"),
                          ("from=2025-01-01&to=2025-03-31", "within the last 400 days"),
                          (f"from={FIRST}", "to")):  # fmt: skip
            response = await client.get(f"/v1/report?unit=H24&{bad}")
            assert response.status_code == 422, bad
            assert says in response.text
        neither = await client.get(f"/v1/report?{query}")
        assert neither.status_code == 422
        assert "unit/level" in neither.text
        assert (await client.get(f"/v1/report?unit=NO.SUCH&{query}")).status_code == 404
