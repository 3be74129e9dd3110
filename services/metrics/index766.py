"""The Decision 766 index from PostgreSQL: its inputs per unit and period, rolled up the tree, and the scorecards.

The day rows and counters are summed in PostgreSQL; rolling them up and scoring run in a worker thread, so the
event loop that counts is never held up. A background task keeps the current month, quarter and year in memory
(the API and the Prometheus gauges read them); other periods are computed on request and kept briefly.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import yaml

from services.metrics import index766_queries as q
from services.metrics.board import UnitEntry
from services.metrics.core.counters import COUNTERS, roll_up
from services.metrics.core.index766 import IndexFormula, Scorecard, parse_formula, score
from services.metrics.core.lifecycle import DossierState
from services.metrics.core.periods import Period, PeriodKind, current_periods
from services.metrics.core.progress766 import day_deltas, progress_figures, progress_footprint
from services.metrics.core.windows import day_start
from shared.index766 import shipped_formula_text
from shared.kpi_catalogue import VIETNAM

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]

log = logging.getLogger(__name__)
CATALOGUE_INPUTS = ("catalogue_fee_procedures", "catalogue_fee_procedures_on_portal")
FED_INPUTS = frozenset({*COUNTERS, "progress_dossiers", "progress_on_time", "fee_procedures",
                        "fee_procedures_paid_online", "procedures_offered_online", "procedures_used_online",
                        *CATALOGUE_INPUTS})  # fmt: skip
"""Every input the metrics service computes; a formula may name others only as `unfed_inputs`."""
Inputs: TypeAlias = dict[str, float | None]


def load_formula(path: Path | None) -> IndexFormula:
    """The formula file configured, or the shipped Decision 766/2022 one; every input it names is checked."""
    text = shipped_formula_text() if path is None else path.read_text("utf-8")
    return parse_formula(yaml.safe_load(text), fed=set(FED_INPUTS))


def load_catalogue(path: Path | None) -> dict[str, dict[str, int]]:
    """Per unit, the catalogue figures (`fee_procedures`, `fee_procedures_on_portal`); none without a file."""
    if path is None:
        return {}
    raw = yaml.safe_load(path.read_text("utf-8")) or {}
    return {
        str(unit): {f"catalogue_{k}": int(v) for k, v in figures.items() if f"catalogue_{k}" in CATALOGUE_INPUTS}
        for unit, figures in (raw.get("units") or {}).items()
    }


def progress_days(changes: Iterable[tuple[DossierState | None, DossierState]]) -> dict[tuple[str, date], list[int]]:
    """What changed dossiers (before, after) move in the progress day rows (pure: runs in the batch's worker)."""
    return day_deltas((None if b is None else progress_footprint(b), progress_footprint(a)) for b, a in changes)


async def add_progress_days(connection: Connection, rows: Mapping[tuple[str, date], list[int]]) -> None:
    """Add `progress_days` to the day rows; call inside the counting transaction."""
    if not rows:
        return
    ordered = sorted(rows.items())  # a fixed order: concurrent replicas lock rows alike
    columns = list(zip(*(values for _, values in ordered), strict=True))
    await connection.execute(q.ADD_PROGRESS_DAYS, [u for (u, _), _ in ordered], [d for (_, d), _ in ordered],
                             *(list(c) for c in columns))  # fmt: skip


@dataclass(frozen=True, slots=True)
class PeriodRows:
    """What PostgreSQL holds for one range of days, per unit, not yet rolled up (one consistent read)."""

    units: dict[str, UnitEntry]
    ancestors: dict[str, list[str]]
    counts: dict[str, list[int]]
    progress: dict[str, tuple[int, int, int, int]]
    distinct: dict[str, list[int]]
    """Per scope, already rolled up: `q.DISTINCT_INPUTS` (procedures counted distinct over its subtree)."""


async def read_period(connection: Connection, *, first_day: date, last_day: date) -> PeriodRows:
    """The rows the index of every unit over Vietnam days first_day..last_day is computed from."""
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        units = {r["code"]: UnitEntry(r["name"], r["level"], r["valid_from"], r["valid_to"])
                 for r in await connection.fetch(q.UNITS)}  # fmt: skip
        ancestors: dict[str, list[str]] = {}
        for r in await connection.fetch(q.CLOSURE):
            ancestors.setdefault(r["descendant_code"], []).append(r["ancestor_code"])
        counted = await connection.fetch(q.COUNTS, first_day, last_day)
        counts = {r["unit_code"]: [r[c] for c in COUNTERS] for r in counted}
        progress = {r["unit_code"]: (r["carried"], r["started"], r["on_time"], r["within_due"])
                    for r in await connection.fetch(q.PROGRESS, first_day, last_day)}  # fmt: skip
        start, end = day_start(first_day), day_start(last_day + timedelta(days=1))
        distinct = {r["unit_code"]: list(r)[1:] for r in await connection.fetch(q.DISTINCT_PROCEDURES, start, end)}
    return PeriodRows(units, ancestors, counts, progress, distinct)


def roll_up_inputs(rows: PeriodRows, *, catalogue: Mapping[str, Mapping[str, int]]) -> dict[str, Inputs]:
    """Every unit's inputs over its subtree and predecessors: numbers summed, procedures counted distinct (by
    PostgreSQL, per scope)."""
    progress_rows = {}
    for unit, (carried, started, on_time, within_due) in rows.progress.items():
        progress = progress_figures(carried=carried, started=started, completed_on_time=on_time, within_due=within_due)
        progress_rows[unit] = [progress.dossiers, progress.on_time]
    counts = roll_up(rows.counts, rows.ancestors)
    progressed = roll_up(progress_rows, rows.ancestors, width=2)
    catalogued: dict[str, dict[str, float]] = {}
    for unit, figures in catalogue.items():
        for target in rows.ancestors.get(unit, [unit]):
            held = catalogued.setdefault(target, {})
            for name, value in figures.items():
                held[name] = held.get(name, 0.0) + value
    result: dict[str, Inputs] = {}
    zero_counts, zero_progress, zero_distinct = [0] * len(COUNTERS), [0, 0], [0] * len(q.DISTINCT_INPUTS)
    floats: dict[int, float] = {}
    # One float object per distinct value (most are 0 or small): 3 periods x every unit's ~35 inputs are held.
    as_float = functools.partial(_shared_float, floats)
    for unit in {*rows.units, *counts, *progressed, *catalogued}:
        inputs: Inputs = dict(zip(COUNTERS, map(as_float, counts.get(unit, zero_counts)), strict=True))
        inputs.update(zip(("progress_dossiers", "progress_on_time"),
                          map(as_float, progressed.get(unit, zero_progress)), strict=True))  # fmt: skip
        inputs.update(zip(q.DISTINCT_INPUTS, map(as_float, rows.distinct.get(unit, zero_distinct)), strict=True))
        summed = catalogued.get(unit)
        for name in CATALOGUE_INPUTS:  # no catalogue figure for the unit or its subtree: no data, not 0
            inputs[name] = None if summed is None else summed.get(name, 0.0)
        result[unit] = inputs
    return result


def _shared_float(floats: dict[int, float], value: int) -> float:
    if (held := floats.get(value)) is None:
        held = floats[value] = float(value)
    return held


@dataclass(frozen=True, slots=True)
class PeriodScores:
    """Every unit's inputs and scorecard for one range of days."""

    first_day: date
    last_day: date
    computed_at: datetime
    units: dict[str, UnitEntry]
    inputs: dict[str, Inputs]
    cards: Mapping[str, Scorecard]


class _Cards(Mapping[str, Scorecard]):
    """Every unit's scorecard: those `now` (the units existing during the period, of the levels exported to
    Prometheus) scored at once, the others when first read (and kept). At 10,000 units with their 2024 predecessors
    and communes not exported, 9,400 scorecards a refresh and period are not computed until asked for."""

    def __init__(self, formula: IndexFormula, inputs: Mapping[str, Inputs], now: Iterable[str]) -> None:
        self._formula, self._inputs = formula, inputs
        self._cards = {unit: score(formula, inputs[unit]) for unit in now if unit in inputs}

    def __getitem__(self, unit: str) -> Scorecard:
        if (card := self._cards.get(unit)) is None:
            card = self._cards[unit] = score(self._formula, self._inputs[unit])
        return card

    def __iter__(self) -> Iterator[str]:
        return iter(self._inputs)

    def __len__(self) -> int:
        return len(self._inputs)


def score_all(rows: PeriodRows, *, formula: IndexFormula, catalogue: Mapping[str, Mapping[str, int]],
              first_day: date, last_day: date, computed_at: datetime,
              levels: Collection[str] | None = None) -> PeriodScores:  # fmt: skip
    """Roll up every unit and score those of `levels` (all if None) existing during the period; the others are
    scored when read (CPU only: run it in a thread)."""
    inputs = roll_up_inputs(rows, catalogue=catalogue)
    existing = (code for code, u in rows.units.items()
                if (levels is None or u.level in levels)
                and (u.valid_from is None or u.valid_from <= last_day)
                and (u.valid_to is None or first_day <= u.valid_to))  # fmt: skip
    return PeriodScores(first_day, last_day, computed_at, rows.units, inputs, _Cards(formula, inputs, existing))


@dataclass(slots=True)
class IndexBoard:
    """The current month, quarter and year as this replica last computed them."""

    current: dict[PeriodKind, tuple[Period, PeriodScores]] = field(default_factory=dict)


class Index766Service:
    """Computes scorecards from PostgreSQL; keeps the current periods fresh and recent other ranges briefly."""

    def __init__(self, *, pool: asyncpg.Pool[Any], formula: IndexFormula, catalogue: Mapping[str, Mapping[str, int]],
                 refresh_s: float, clock: Callable[[], datetime], board: IndexBoard | None = None,
                 levels: Collection[str] | None = None) -> None:  # fmt: skip
        self.pool, self.formula, self.catalogue, self.clock = pool, formula, catalogue, clock
        self._levels = levels
        """The levels scored at each refresh (those exported to Prometheus); others when first read."""
        self.board = IndexBoard() if board is None else board
        self._refresh_s = refresh_s
        self._recent: dict[tuple[date, date], tuple[float, PeriodScores]] = {}

    def today(self) -> date:
        """Today in Vietnam, by the service's clock."""
        return self.clock().astimezone(VIETNAM).date()

    async def scores(self, first_day: date, last_day: date) -> PeriodScores:
        """Every unit over the days first_day..last_day: from memory if computed within the refresh interval."""
        key, now = (first_day, last_day), time.monotonic()
        cached = self._recent.get(key)
        if cached is not None and now - cached[0] < self._refresh_s:
            return cached[1]
        computed = await self._compute(first_day, last_day)
        self._recent = {k: v for k, v in self._recent.items() if now - v[0] < self._refresh_s}
        if computed.units:  # not before the first reference-data sync
            self._recent[key] = (now, computed)
        return computed

    async def period_scores(self, period: Period, *, unit: str | None = None) -> PeriodScores:
        """A period's scores; the current ones come from the board once it holds them (and the unit asked for: a
        board computed before the first reference-data sync has no units)."""
        held = self.board.current.get(period.kind)
        if held is not None and held[0] == period and held[1].units and (unit is None or unit in held[1].units):
            return held[1]
        return await self.scores(period.first_day, period.last_day)

    async def _compute(self, first_day: date, last_day: date) -> PeriodScores:
        async with self.pool.acquire() as connection:
            rows = await read_period(connection, first_day=first_day, last_day=last_day)
        return await asyncio.to_thread(score_all, rows, formula=self.formula, catalogue=self.catalogue,
                                       first_day=first_day, last_day=last_day, computed_at=self.clock(),
                                       levels=self._levels)  # fmt: skip

    async def refresh(self) -> None:
        """Recompute this month, quarter and year to date."""
        fresh: dict[PeriodKind, tuple[Period, PeriodScores]] = {}
        for kind, period in current_periods(self.today()).items():
            fresh[kind] = (period, await self._compute(period.first_day, period.last_day))
        self.board.current = fresh

    async def run(self) -> None:
        """Refresh until cancelled; a failing round is logged and retried, never fatal."""
        while True:
            started = time.monotonic()
            try:
                await self.refresh()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("766 index refresh failed; retrying", exc_info=True)
            except Exception:  # a scoring bug must not stop the gauges for good; it is logged every round
                log.exception("766 index refresh failed")
            # Never more than a third of the time spent recomputing: counting keeps PostgreSQL first.
            await asyncio.sleep(max(self._refresh_s, 3 * (time.monotonic() - started)))


def current_units(scores: PeriodScores, *, level: str, day: date) -> Sequence[str]:
    """Codes of the units of a level that exist on a day, in code order."""
    return sorted(c for c, u in scores.units.items() if u.level == level and u.valid_on(day))
