"""KPI definitions, each in one place: a ratio of sums of counters. A variant is configuration, not a fork."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.metrics.core.counters import COUNTERS
from shared.kpi_catalogue import KPI_NAMES

USAGE_RATE = "online_service_usage_rate"
"""Computed from distinct procedures (the catalogue), not from counters: see `store.snapshots`."""


class KpiDefinition(BaseModel):
    """numerator / denominator, each a signed sum of counters, e.g. `["received", "-received_postal"]`."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    numerator: tuple[str, ...] = Field(default=())
    denominator: tuple[str, ...] = Field(default=())

    @field_validator("numerator", "denominator")
    @classmethod
    def _known_counters(cls, terms: tuple[str, ...]) -> tuple[str, ...]:
        for term in terms:
            if term.lstrip("-") not in COUNTERS:
                raise ValueError(f"unknown counter {term.lstrip('-')!r}; known: {', '.join(COUNTERS)}")
        return terms

    def evaluate(self, counters: Mapping[str, int]) -> tuple[int, int]:
        """(numerator, denominator) from summed counters."""
        return _sum_terms(self.numerator, counters), _sum_terms(self.denominator, counters)

    def evaluate_row(self, row: Sequence[int]) -> tuple[int, int]:
        """(numerator, denominator) from a row of counters in `COUNTERS` order (the snapshot hot path)."""
        numerator, denominator = self._compiled
        return sum(sign * row[i] for i, sign in numerator), sum(sign * row[i] for i, sign in denominator)

    @cached_property
    def counter_indices(self) -> frozenset[int]:
        """The `COUNTERS` indices it reads (none for the usage rate)."""
        numerator, denominator = self._compiled
        return frozenset(i for i, _ in (*numerator, *denominator))

    @cached_property
    def _compiled(self) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        def compile_terms(terms: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
            return tuple((COUNTERS.index(t.lstrip("-")), -1 if t.startswith("-") else 1) for t in terms)

        return compile_terms(self.numerator), compile_terms(self.denominator)


def _sum_terms(terms: tuple[str, ...], counters: Mapping[str, int]) -> int:
    return sum(-counters[t[1:]] if t.startswith("-") else counters[t] for t in terms)


def ratio(numerator: int, denominator: int) -> float | None:
    """The KPI value; a zero denominator is no data (None), never 0% or 100%."""
    return numerator / denominator if denominator > 0 else None


DEFAULT_KPIS: tuple[KpiDefinition, ...] = (
    KpiDefinition(name="online_submission_rate", description="Dossiers received online / all received.",
                  numerator=("received_online",), denominator=("received",)),
    KpiDefinition(name="full_online_rate",
                  description="Received online with a fully-online service level / all received.",
                  numerator=("received_full_online",), denominator=("received",)),
    KpiDefinition(name=USAGE_RATE,
                  description="Procedures offered online with an online dossier / procedures offered online."),
    KpiDefinition(name="online_result_rate", description="Completed with an electronic result / completed.",
                  numerator=("completed_electronic",), denominator=("completed",)),
    KpiDefinition(name="digitization_rate", description="Received with digitized papers / received.",
                  numerator=("received_digitized",), denominator=("received",)),
    KpiDefinition(name="essential_online_rate",
                  description="Essential-service dossiers received online / essential received.",
                  numerator=("essential_received_online",), denominator=("essential_received",)),
    KpiDefinition(name="on_time_rate",
                  description="Completed on or before the due day / completed with a due date.",
                  numerator=("completed_on_time",), denominator=("completed_with_due",)),
    KpiDefinition(name="satisfaction_rate", description="Ratings of 4 or 5 / ratings.",
                  numerator=("rated_satisfied",), denominator=("rated",)),
    KpiDefinition(name="feedback_satisfaction_rate",
                  description="Closed feedback scored 4 or 5 / closed feedback with a score.",
                  numerator=("feedback_satisfied",), denominator=("feedback_scored",)),
    KpiDefinition(name="feedback_on_time_rate", description="Feedback closed on time / closed feedback.",
                  numerator=("feedback_on_time",), denominator=("feedback_closed",)),
    # Both terms per payment, by the paid event's hour: a payment counts once, whatever arrives first, and a
    # dossier whose reception lacks the optional fee_bearing fact still counts. The variant over fee-bearing
    # receptions is `denominator: [received_fee_bearing]`.
    KpiDefinition(name="online_payment_rate",
                  description="Payments made online (national portal or a local gateway) / payments.",
                  numerator=("paid_online",), denominator=("paid",)),
)  # fmt: skip
if tuple(k.name for k in DEFAULT_KPIS) != KPI_NAMES:  # the catalogue is the contract; fail at import, not later
    raise RuntimeError("DEFAULT_KPIS must define exactly shared.kpi_catalogue.KPI_NAMES, in that order")


def kpi_definitions(overrides: Mapping[str, KpiDefinition] | None = None) -> tuple[KpiDefinition, ...]:
    """The default definitions with configured variants replacing them by name."""
    overrides = overrides or {}
    unknown = set(overrides) - set(KPI_NAMES)
    if unknown:
        raise ValueError(f"variants for unknown KPIs: {sorted(unknown)}")
    return tuple(overrides.get(k.name, k) for k in DEFAULT_KPIS)
