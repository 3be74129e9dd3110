"""Province-wide KPI figures of the acknowledged events, computed straight from the events.

Deliberately not metrics' counting code: the simulator's summary is a second, independent opinion of what the
pipeline should show (DOMAIN.md's definitions read directly), so a counting bug can't hide in both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from shared.events import (
    SATISFIED_FROM,
    Channel,
    DossierCompleted,
    DossierPaid,
    DossierPaused,
    DossierRated,
    DossierReceived,
    DossierResumed,
    Event,
    FeedbackClosed,
    PaymentChannel,
    ServiceLevel,
)
from shared.kpi_catalogue import VIETNAM

KPI_TERMS: dict[str, tuple[str, str]] = {
    "online_submission_rate": ("received_online", "received"),
    "full_online_rate": ("received_full_online", "received"),
    "online_result_rate": ("completed_electronic", "completed"),
    "digitization_rate": ("received_digitized", "received"),
    "essential_online_rate": ("essential_received_online", "essential_received"),
    "on_time_rate": ("completed_on_time", "completed_with_due"),
    "satisfaction_rate": ("rated_satisfied", "rated"),
    "feedback_satisfaction_rate": ("feedback_satisfied", "feedback_scored"),
    "feedback_on_time_rate": ("feedback_on_time", "feedback_closed"),
    # Dossiers with a financial obligation, told from events alone: the ones paid (the simulator's fee-bearing
    # dossiers all pay, except those withdrawn or stopped first).
    "online_payment_rate": ("paid_online", "paid"),
}
"""numerator / denominator of each KPI the tally can tell from events alone (usage needs the catalogue)."""
LIFECYCLE_TERMS: dict[str, str] = {
    "dossiers still open (received - completed)": "open",
    "pauses for a supplement": "paused_supplement",
    "pauses for a financial obligation": "paused_financial_obligation",
    "resumptions": "resumed",
    "completed approved / rejected / withdrawn / stopped": "outcomes",
}
"""Lifecycle counts the summary shows."""
ONLINE_PAYMENT = frozenset({PaymentChannel.NATIONAL_PORTAL, PaymentChannel.LOCAL_GATEWAY})


class KpiTally:
    """Counts of the events seen, by what DOMAIN.md's KPIs count."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, events: Iterable[Event]) -> None:
        """Count events (the caller sends each acknowledged event once)."""
        for event in events:
            self.counts.update(name for name, hit in _facts(event) if hit)

    def figure(self, kpi: str) -> tuple[int, int]:
        """(numerator, denominator) of one KPI."""
        numerator, denominator = KPI_TERMS[kpi]
        return self.counts[numerator], self.counts[denominator]

    def lifecycle(self, name: str) -> str:
        """One of LIFECYCLE_TERMS, as shown in the summary."""
        counts = self.counts
        if name == "open":
            return f"{counts['received'] - counts['completed']:,}"
        if name == "outcomes":
            return " / ".join(f"{counts[f'completed_{o}']:,}" for o in ("approved", "rejected", "withdrawn", "stopped"))
        return f"{counts[name]:,}"


def _facts(event: Event) -> list[tuple[str, bool]]:
    match event:
        case DossierReceived():
            online = event.channel is Channel.ONLINE
            return [
                ("received", True),
                ("received_online", online),
                ("received_full_online", online and event.service_level is ServiceLevel.FULL_ONLINE),
                ("received_digitized", event.digitized),
                ("essential_received", event.essential),
                ("essential_received_online", event.essential and online),
            ]
        case DossierCompleted():
            due_day = event.due_at.astimezone(VIETNAM).date() if event.due_at else None
            done_day = event.occurred_at.astimezone(VIETNAM).date()
            return [
                ("completed", True),
                (f"completed_{event.outcome.value}", True),
                ("completed_electronic", event.electronic_result),
                ("completed_with_due", due_day is not None),
                ("completed_on_time", due_day is not None and done_day <= due_day),
            ]
        case DossierPaused() | DossierResumed() | DossierPaid():
            return _lifecycle_facts(event)
        case DossierRated():
            return [("rated", True), ("rated_satisfied", event.score >= SATISFIED_FROM)]
        case FeedbackClosed():
            scored = event.score is not None
            return [
                ("feedback_closed", True),
                ("feedback_on_time", event.on_time),
                ("feedback_scored", scored),
                ("feedback_satisfied", scored and (event.score or 0) >= SATISFIED_FROM),
            ]
        case _:
            return []


def _lifecycle_facts(event: DossierPaused | DossierResumed | DossierPaid) -> list[tuple[str, bool]]:
    match event:
        case DossierPaused():
            return [(f"paused_{event.reason.value}", True)]
        case DossierResumed():
            return [("resumed", True)]
        case DossierPaid():
            return [("paid", True), ("paid_online", event.channel in ONLINE_PAYMENT)]
