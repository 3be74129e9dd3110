"""The shipped backlog rules: one per unit level on the share of dossiers in progress already past their due time.

Also the source of the Prometheus-side equivalents (deploy/prometheus/generate_rules.py), so both paths alert on
the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FAMILY = "backlog-overdue"
FOR = "1h"
"""Many dossiers fall due together (due dates are working days) and are settled on their due day: a breach that
outlasts an hour is a backlog building up, not a batch in flight."""


@dataclass(frozen=True, slots=True)
class BacklogThreshold:
    """One level's default: fire above `threshold` overdue share over at least `min_in_progress` open dossiers."""

    level: str
    threshold: float
    recovery_margin: float
    min_in_progress: int
    severity: str


BACKLOG_THRESHOLDS = (
    # The 766 index targets 95% of dossiers on time and counts those still in progress within their deadline as on
    # time: a province with over 5% of its open dossiers already late is missing that target now, not in a month.
    BacklogThreshold("province", 0.05, 0.01, 200, "critical"),
    # Smaller units hold fewer dossiers, so one late dossier moves the share more: 10% and 15% keep one slow desk
    # from being an incident. Each margin is about one dossier at the minimum sample (1/30, 1/20), so one dossier
    # settled or falling due does not flap the alert; the minimum samples follow the KPI targets' (200, 30) and
    # twice a commune's 10, since a share of open dossiers swings more than one of a month's settlements.
    BacklogThreshold("department", 0.10, 0.03, 30, "warning"),
    BacklogThreshold("commune", 0.15, 0.05, 20, "warning"),
)

SUMMARY = (
    "{unit_name}: {overdue} of {in_progress} dossiers in progress are overdue ({value_text}, above {threshold_text})"
)
DESCRIPTION = (
    "{unit_name} ({unit}, {unit_level}, its units included) holds {in_progress} dossiers in progress, {overdue} of "
    "them past their due time with the clock running ({value_text}); the threshold is {threshold_text} over at "
    "least {min_in_progress} dossiers, and the alert clears at {clear_text}. Paused dossiers (awaiting a "
    "supplement or a payment) are not overdue."
)


def backlog_rules() -> list[dict[str, Any]]:
    """The backlog rules of the rules document (to be dumped as YAML)."""
    return [
        {
            "name": f"{FAMILY}.{t.level}",
            "kind": "backlog",
            "scope": {"levels": [t.level]},
            "measure": "overdue_share",
            "threshold": t.threshold,
            "recovery_margin": t.recovery_margin,
            "min_in_progress": t.min_in_progress,
            "for": FOR,
            "severity": t.severity,
            "labels": {"family": FAMILY},
            "annotations": {
                "summary": SUMMARY,
                "description": DESCRIPTION,
                "runbook_url": f"{{runbook_base_url}}{FAMILY}.md",
            },
        }
        for t in BACKLOG_THRESHOLDS
    ]
