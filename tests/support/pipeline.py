"""The whole pipeline as real processes (ingest, metrics, the simulator) and its ground truth.

The simulator's `--record` file holds every event the ingest API acknowledged with 202: that set is the ground
truth, and every KPI numerator and denominator the metrics service serves must follow from it exactly.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from services.ingest.auth import hash_token
from services.metrics.core.counters import COUNTERS, aggregate
from services.metrics.core.kpis import DEFAULT_KPIS, USAGE_RATE
from shared.devstack.kafka import REPO_ROOT
from shared.events import (
    DossierCompleted,
    DossierPaused,
    DossierReceived,
    DossierResumed,
    Event,
    event_adapter,
)
from shared.refdata import ReferenceData, load_reference_data
from shared.settings import KafkaSettings, TopicSettings
from tests.support.services import ServiceUnderTest, poll, service_env

TOKEN = "fault-suite-token"
SOURCE = "demo"


def read_record(path: Path) -> list[Event]:
    """The acknowledged events, each once, as first acknowledged: what the metrics service counts.

    A re-sent batch appears twice in the file. A second run with the same seed re-sends the same event ids with
    times shifted by its later start; the pipeline drops those as duplicates, so the first occurrence is the truth.
    """
    unique: dict[Any, Event] = {}
    for line in path.read_bytes().splitlines():
        if line.strip():
            event = event_adapter.validate_json(line)
            unique.setdefault(event.event_id, event)
    return list(unique.values())


async def stored_counts(dsn: str) -> dict[tuple[Any, ...], list[int]]:
    """kpi_counts_hourly as {(bucket, unit, procedure): counters}."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            f"SELECT bucket, unit_code, procedure_code, {', '.join(COUNTERS)} FROM kpi_counts_hourly"  # noqa: S608
        )
    finally:
        await connection.close()
    return {(r["bucket"], r["unit_code"], r["procedure_code"]): [r[c] for c in COUNTERS] for r in rows}


def expected_counts(events: Iterable[Event]) -> dict[tuple[Any, ...], list[int]]:
    """What kpi_counts_hourly must hold for these events."""
    return {tuple(key): values for key, values in aggregate(events).items()}


def expected_kpis(events: list[Event], refdata: ReferenceData) -> dict[tuple[str, str], tuple[int, int]]:
    """(kpi, unit) → (numerator, denominator) for every unit of the tree, for a window holding all events.

    A unit's figures count every dossier of the units it rolls up (`UnitTree.rollup`: its subtree, and its
    predecessors with theirs), summed here directly from the events rather than through metrics' closure rows.
    """
    per_unit: dict[str, list[int]] = {}
    for key, values in aggregate(events).items():
        row = per_unit.setdefault(key.unit_code, [0] * len(COUNTERS))
        for i, value in enumerate(values):
            row[i] += value
    offered = [e for e in refdata.catalogue.offered(refdata.tree) if e.service_level.value != "offline"]
    used = {(e.unit_code, e.procedure_code) for e in events if isinstance(e, DossierReceived) and e.channel == "online"}
    expected: dict[tuple[str, str], tuple[int, int]] = {}
    for unit in refdata.tree.units:
        covered = refdata.tree.rollup(unit)
        sums = [sum(per_unit.get(code, [0] * len(COUNTERS))[i] for code in covered) for i in range(len(COUNTERS))]
        counters = dict(zip(COUNTERS, sums, strict=True))
        offered_here = {e.procedure_code for e in offered if e.unit_code in covered}
        used_here = {p for (u, p) in used if u in covered} & offered_here
        for definition in DEFAULT_KPIS:
            if definition.name == USAGE_RATE:
                expected[(definition.name, unit)] = (len(used_here), len(offered_here))
            else:
                expected[(definition.name, unit)] = definition.evaluate(counters)
    return expected


def expected_backlog(
    events: Iterable[Event], refdata: ReferenceData, *, now: datetime
) -> dict[str, tuple[int, int, int]]:
    """unit → (in_progress, overdue, paused) at `now` for every unit of the tree, straight from DOMAIN.md.

    In progress: received and not completed. Paused: in progress, and its latest pause is later than every
    resumption. Overdue: in progress, not paused, and past the reception's due_at. Rolled up like the KPIs.
    """
    receptions: dict[str, DossierReceived] = {}
    completed: set[str] = set()
    pauses: dict[str, list[datetime]] = {}
    resumes: dict[str, list[datetime]] = {}
    for event in events:
        match event:
            case DossierReceived():
                held = receptions.get(event.dossier_id)
                if held is None or event.occurred_at < held.occurred_at:
                    receptions[event.dossier_id] = event
            case DossierCompleted():
                completed.add(event.dossier_id)
            case DossierPaused():
                pauses.setdefault(event.dossier_id, []).append(event.occurred_at)
            case DossierResumed():
                resumes.setdefault(event.dossier_id, []).append(event.occurred_at)
    per_unit: dict[str, list[int]] = {}
    for dossier, reception in receptions.items():
        if dossier in completed:
            continue
        last_pause = max(pauses.get(dossier, []), default=None)
        last_resume = max(resumes.get(dossier, []), default=None)
        is_paused = last_pause is not None and (last_resume is None or last_resume < last_pause)
        is_overdue = not is_paused and reception.due_at is not None and reception.due_at < now
        row = per_unit.setdefault(reception.unit_code, [0, 0, 0])
        row[0] += 1
        row[1] += is_overdue
        row[2] += is_paused
    expected: dict[str, tuple[int, int, int]] = {}
    for unit in refdata.tree.units:
        covered = refdata.tree.rollup(unit)
        sums = [sum(per_unit.get(code, [0, 0, 0])[i] for code in covered) for i in range(3)]
        expected[unit] = (sums[0], sums[1], sums[2])
    return expected


def served_backlog(metrics: ServiceUnderTest) -> tuple[datetime | None, dict[str, tuple[int, int, int]]]:
    """What the metrics service serves as the live backlog, and the moment it was computed for."""
    body = metrics.get("/v1/backlog").json()
    computed = datetime.fromisoformat(body["computed_at"]) if body["computed_at"] else None
    return computed, {i["unit_code"]: (i["in_progress"], i["overdue"], i["paused"]) for i in body["items"]}


def served_kpis(metrics: ServiceUnderTest, window: str = "1d") -> dict[tuple[str, str], tuple[int, int]]:
    """What the metrics service serves for one window."""
    items = metrics.get(f"/v1/kpis?window={window}").json()["items"]
    return {(i["kpi"], i["unit_code"]): (i["numerator"], i["denominator"]) for i in items}


class Pipeline:
    """Ingest and metrics processes over given Kafka, PostgreSQL and topics, fed by the simulator."""

    def __init__(self, *, kafka: KafkaSettings, topics: TopicSettings, pg_dsn: str, workdir: Path) -> None:
        self.workdir = workdir
        self.pg_dsn = pg_dsn
        tokens = workdir / "tokens.yaml"
        tokens.write_text(f"sources:\n  {SOURCE}:\n    tokens: [{hash_token(TOKEN)}]\n")
        self.env = service_env(
            kafka=kafka,
            topics=topics,
            pg_dsn=pg_dsn,
            CIVICPULSE_INGEST_TOKENS_FILE=str(tokens),
            CIVICPULSE_INGEST_PUBLISH_TIMEOUT_S="3",
            CIVICPULSE_METRICS_BATCH_MAX_RECORDS="1000",
        )
        self.ingest = ServiceUnderTest("ingest", ["ingest", "serve"], env=self.env, log_dir=workdir)
        self.metrics: list[ServiceUnderTest] = []
        self.others: list[ServiceUnderTest] = []
        """Other services a test runs beside the pipeline (alerts): stopped with it."""
        self.refdata = load_reference_data()

    def add_metrics(self, name: str = "metrics", **extra: str) -> ServiceUnderTest:
        """One more metrics replica (same consumer group unless extra says otherwise), started."""
        service = ServiceUnderTest(name, ["metrics", "serve"], env={**self.env, **extra}, log_dir=self.workdir)
        service.start()
        self.metrics.append(service)
        return service

    def simulate(
        self, *, events: int, seed: int, record: Path, rate: str = "2500/s", extra: Sequence[str] = ()
    ) -> subprocess.Popen[bytes]:
        """The simulator as a process, sending to our ingest service (`extra`: more simulate options)."""
        log = (self.workdir / f"simulate-{seed}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "simulate", "--url", self.ingest.url, "--token", TOKEN,
             "--source", SOURCE, "--events", str(events), "--seed", str(seed), "--rate", rate, "--no-rhythm",
             "--batch", "250", "--record", str(record), *extra],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=self.env,
        )  # fmt: skip

    async def counted(self) -> int:
        connection = await asyncpg.connect(self.pg_dsn)
        try:
            return int(await connection.fetchval("SELECT count(*) FROM processed_events"))
        finally:
            await connection.close()

    def wait_snapshot(self, metrics: ServiceUnderTest, events: list[Event]) -> None:
        """Until the province's 1d snapshot shows every acknowledged received dossier."""
        received = sum(1 for e in events if isinstance(e, DossierReceived))
        poll(lambda: served_kpis(metrics).get(("online_submission_rate", "HD"), (0, -1))[1] == received,
             timeout=60, what=f"province snapshot shows {received} received dossiers")  # fmt: skip

    def stop(self) -> None:
        for service in [self.ingest, *self.metrics, *self.others]:
            service.kill()


def ingest_503s(ingest: ServiceUnderTest) -> float:
    """503 answers the ingest API gave, from its /metrics."""
    total = 0.0
    for line in httpx.get(ingest.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("civicpulse_ingest_http_requests_total") and 'status="503"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def simulator_done(process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for the simulator and fail with its log if it did not finish cleanly."""
    code = process.wait(timeout=600)
    assert code == 0, f"simulator exited {code}:\n{log.read_text(errors='replace')[-3000:]}"


def dumps(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
