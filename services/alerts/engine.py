"""Evaluates every (rule, subject) on snapshots and on a timer, and commits each change with its notifications."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from services.alerts.core.conditions import Reading, target_of
from services.alerts.core.describe import alert_labels, render_annotations, template_context
from services.alerts.core.history import ReadingHistory
from services.alerts.core.notifications import Alert, build_change, build_notification
from services.alerts.core.receivers import ALERTS_TOPIC_RECEIVER, AlertmanagerReceiver, grouping_of
from services.alerts.core.rules import AnyRule
from services.alerts.core.ruleset import RuleSet
from services.alerts.core.silences import Silence, silencing
from services.alerts.core.state import ACTIVE, AlertState, Evaluation, Transition, alert_id_of, evaluate, retire
from services.alerts.inputs import KpiReading, KpiScope, kpi_reading
from services.alerts.ports import AlertsStorage, Outgoing
from services.alerts.subjects import Known, kpi_figure, subjects_of
from services.alerts.telemetry import AlertsMetrics
from shared.snapshots import KpiSnapshot

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The wall clock (tests inject their own)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Evaluation settings that are not rules."""

    repeat_interval: timedelta
    runbook_base_url: str = ""


class AlertEngine:
    """Holds the rules, the newest readings and every alert; one asyncio lock serialises evaluations."""

    def __init__(
        self,
        *,
        storage: AlertsStorage,
        rules: RuleSet,
        options: EngineOptions,
        metrics: AlertsMetrics,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._storage = storage
        self.rules = rules
        self._options = options
        self._metrics = metrics
        self._clock = clock
        self._lock = asyncio.Lock()
        self.alerts: dict[str, Alert] = {}
        self._known = Known(history=_history_for(rules))
        self._silences: list[Silence] = []

    @property
    def silences(self) -> list[Silence]:
        """The silences in force (or to come), as of the last read."""
        return self._silences

    async def start(self) -> None:
        """Load stored alerts and current KPI values, then evaluate: no waiting for the next full publication."""
        async with self._lock:
            self.alerts = {a.state.alert_id: a for a in await self._storage.alerts.load_all()}
            self._known.kpi = await self._storage.inputs.kpi_readings(self.rules.watched())
            self._remember(self._known.kpi.items())
            for alert in list(self.alerts.values()):
                if alert.state.status in ACTIVE and self.rules.get(alert.state.rule) is None:
                    await self._retire_orphan(alert)
        await self.tick()

    async def _retire_orphan(self, alert: Alert) -> None:
        """An active alert whose rule left the file while we were down: drop it if pending, resolve it if firing.

        Its receivers went with the rule, so only the `civicpulse.alerts` topic hears of it (logged as a warning).
        """
        now = self._clock()
        result = retire(alert.state, now=now)
        retired = replace(alert, state=result.state)
        outgoing = [
            Outgoing(c.id, ALERTS_TOPIC_RECEIVER, "change", c.model_dump(mode="json"))
            for c in (build_change(retired, t) for t in result.transitions)
        ]
        version = await self._write(
            retired,
            previous_version=alert.state.version,
            transitions=result.transitions,
            outgoing=outgoing,
            note="rule removed while the service was down",
            now=now,
        )
        if version is not None:
            self.alerts[alert.state.alert_id] = replace(retired, state=replace(result.state, version=version))
            log.warning("retired an alert whose rule is gone", extra={"alert_id": alert.state.alert_id})

    async def run(self, *, interval: float) -> None:
        """Tick every `interval` seconds until cancelled; a failed tick (database down) is retried next time."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.tick()
            except self._storage.transient_errors:
                log.warning("evaluation tick failed; retrying", exc_info=True)

    async def on_snapshots(self, snapshots: Sequence[KpiSnapshot]) -> None:
        """Evaluate the rules watching these snapshots, each in computed order; older ones than seen are ignored.

        Every snapshot is evaluated, not just the newest of a batch: a clearing value between two breaches must
        cancel a pending alert even if the three arrive together.
        """
        started = time.perf_counter()
        watched, evaluated, remembered = self.rules.watched(), self.rules.evaluated(), self.rules.remembered()
        fresh = sorted((s for s in snapshots if (s.kpi, s.window) in watched), key=lambda s: s.computed_at)
        if not fresh:
            return
        async with self._lock:
            now = self._clock()
            for snapshot in fresh:
                known = self._known.kpi.get(snapshot.scope)
                if known is not None and snapshot.computed_at < known.reading.observed_at:
                    continue
                current = self._known.kpi[snapshot.scope] = kpi_reading(snapshot)
                if (snapshot.kpi, snapshot.window) in remembered:
                    self._known.history.add(snapshot.scope, current.reading)
                age = (now - snapshot.computed_at).total_seconds()
                self._metrics.snapshot_age_seconds.observe(max(0.0, age))
                if (snapshot.kpi, snapshot.window) not in evaluated:
                    continue  # a baseline: looked up by the rules it compares, on their next evaluation
                for rule in self.rules.kpi_rules():
                    if (rule.kpi, rule.window.value) == (snapshot.kpi, snapshot.window) and rule.scope.covers(
                        unit_code=snapshot.unit_code, unit_level=current.unit_level
                    ):
                        reading = kpi_figure(rule, snapshot.unit_code, self._known, now=now)
                        if reading is not None:
                            await self._evaluate(rule, snapshot.unit_code, reading, now)
        self._metrics.evaluation_seconds.labels("snapshot").observe(time.perf_counter() - started)

    async def tick(self) -> None:
        """Timer round: refresh units, silences and activity, then evaluate every rule on what is known."""
        started = time.perf_counter()
        async with self._lock:
            now = self._clock()
            self._known.units = await self._storage.inputs.units()
            self._silences = await self._storage.silences.in_force(now=now)
            activity = await self._storage.inputs.activity()
            self._known.source_activity, self._known.unit_activity = activity.sources, activity.units
            # Overdue-ness moves with the clock: the backlog is re-read every round, not only on events.
            self._known.backlog = await self._storage.inputs.backlog() if self.rules.reads_backlog() else {}
            self._known.index_kpi()
            for rule in self.rules:
                subjects = subjects_of(rule, self._known, alerts=list(self.alerts.values()), now=now)
                for subject, reading in subjects.items():
                    await self._evaluate(rule, subject, reading, now)
        self._metrics.evaluation_seconds.labels("timer").observe(time.perf_counter() - started)

    async def reload(self, rules: RuleSet) -> None:
        """Swap in new rules, keeping every alert; alerts of removed rules are resolved (or dropped if pending)."""
        async with self._lock:
            now = self._clock()
            for alert in list(self.alerts.values()):
                old = self.rules.get(alert.state.rule)
                if old is not None and rules.get(alert.state.rule) is None:
                    await self._commit(old, alert, retire(alert.state, now=now), now, note="rule removed")
            watched_before = self.rules.watched()
            self.rules = rules
            history = _history_for(rules)
            self._known.history.keep, self._known.history.resolution = history.keep, history.resolution
            if rules.watched() - watched_before:
                self._known.kpi.update(await self._storage.inputs.kpi_readings(rules.watched()))
        await self.tick()

    async def refresh_silences(self) -> None:
        """Re-read silences now (after one is created or deleted) rather than at the next tick."""
        async with self._lock:
            self._silences = await self._storage.silences.in_force(now=self._clock())

    def _remember(self, readings: Iterable[tuple[KpiScope, KpiReading]]) -> None:
        remembered = self.rules.remembered()
        for scope, current in readings:
            if (scope[0], scope[1]) in remembered:
                self._known.history.add(scope, current.reading)

    def _receivers_of(self, rule: AnyRule) -> list[tuple[str, bool]]:
        """(receiver, queued for its group) for each receiver a notice of the rule goes to: a digest rule's only
        to Alertmanager receivers (which get every alert, `notify` label and all); the rest wait for the digest."""
        routed = []
        for name in rule.receivers:
            config = self.rules.receivers.get(name)
            if isinstance(config, AlertmanagerReceiver):
                routed.append((name, False))
            elif rule.notify == "page":
                routed.append((name, grouping_of(config) is not None))
        return routed

    async def _evaluate(self, rule: AnyRule, subject: str, reading: Reading | None, now: datetime) -> None:
        alert_id = alert_id_of(rule.name, subject)
        for _attempt in range(2):
            alert = self.alerts.get(alert_id) or Alert(AlertState(rule.name, subject), rule.severity, {}, {}, None)
            labels = alert_labels(rule, subject, self._known.unit(rule, subject))
            muted_by = silencing(self._silences, labels, now)
            repeat = self.rules.repeat_interval(rule, default=self._options.repeat_interval)
            result = evaluate(alert.state, reading, rule, now=now, repeat_interval=repeat, silenced=bool(muted_by))
            if not _worth_writing(alert.state, result):
                if alert.state.version and result.state != alert.state:
                    self.alerts[alert_id] = replace(alert, state=result.state)
                return
            note = f"notifications muted by silence {', '.join(map(str, muted_by))}" if muted_by else None
            if await self._commit(rule, alert, result, now, note=note, labels=labels):
                return
            stored = await self._storage.alerts.load(alert_id)  # another replica wrote it first: start from its row
            if stored is not None:
                self.alerts[alert_id] = stored
        log.warning("alert kept changing under us; will retry next tick", extra={"alert_id": alert_id})

    async def _commit(
        self,
        rule: AnyRule,
        alert: Alert,
        result: Evaluation,
        now: datetime,
        *,
        note: str | None,
        labels: dict[str, str] | None = None,
    ) -> bool:
        state, unit = result.state, self._known.unit(rule, alert.state.subject)
        context = template_context(
            rule, state.subject, state.reading, unit, runbook_base_url=self._options.runbook_base_url
        )
        labels = labels if labels is not None else alert_labels(rule, state.subject, unit)
        changed = Alert(state, rule.severity, labels, render_annotations(rule, context), target_of(rule))
        outgoing = [
            Outgoing(n.id, receiver, n.kind.value, n.model_dump(mode="json"), queued=queued)
            for n in (build_notification(changed, notice) for notice in result.notices)
            for receiver, queued in self._receivers_of(rule)
        ]
        outgoing += [
            Outgoing(c.id, ALERTS_TOPIC_RECEIVER, "change", c.model_dump(mode="json"))
            for c in (build_change(changed, t) for t in result.transitions)
        ]
        version = await self._write(
            changed,
            previous_version=alert.state.version,
            transitions=result.transitions,
            outgoing=outgoing,
            note=note,
            now=now,
        )
        if version is None:
            self._metrics.write_conflicts.inc()
            return False
        self.alerts[state.alert_id] = replace(changed, state=replace(state, version=version))
        for transition in result.transitions:
            self._metrics.transitions.labels(transition.to_status.value).inc()
            log.info(
                "alert %s: %s → %s",
                state.alert_id,
                transition.from_status,
                transition.to_status,
                extra={"alert_id": state.alert_id, "to": transition.to_status.value},
            )
        return True

    async def _write(
        self,
        alert: Alert,
        *,
        previous_version: int,
        transitions: Sequence[Transition],
        outgoing: Sequence[Outgoing],
        note: str | None,
        now: datetime,
    ) -> int | None:
        """The alert, its history and its outbox rows in one unit of work; the new version, or None (and nothing
        written) if another writer changed the alert since `previous_version`."""
        async with self._storage.unit_of_work() as work:
            version = await work.alerts.save(alert, previous_version=previous_version, now=now)
            if version is None:
                return None
            await work.history.append(alert, transitions, note=note)
            await work.outbox.add(alert.state.alert_id, outgoing, now=now)
            await work.commit()
        return version


def _history_for(rules: RuleSet) -> ReadingHistory:
    """A history long enough for every rule's look back, about 30 samples over the shortest."""
    lookbacks = [r.lookback() for r in rules.kpi_rules() if r.lookback()]
    if not lookbacks:
        return ReadingHistory()
    resolution = max(timedelta(seconds=1), min(lookbacks) / 30)
    return ReadingHistory(keep=max(lookbacks) + resolution, resolution=resolution)


def _worth_writing(before: AlertState, result: Evaluation) -> bool:
    """A change of status or a notice is always written; a new value only while the alert is active."""
    if result.transitions or result.notices:
        return True
    after = result.state
    if after.status not in ACTIVE or before.reading is None or after.reading is None:
        return False
    old, new = before.reading, after.reading
    return (old.value, old.numerator, old.denominator) != (new.value, new.numerator, new.denominator)
