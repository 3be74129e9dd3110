"""The shipped rules, built from the default KPI targets: one rule per KPI and unit level, plus backlog rules
(core/backlog_defaults.py) and staleness rules."""

from __future__ import annotations

from typing import Any

from services.alerts.core.backlog_defaults import backlog_rules
from shared.targets import Targets

LEVELS = ("province", "department", "commune")
"""Levels with default KPI rules: today's two tiers (districts exist only before 1 July 2025); a commune's slip
is a working-hours warning, never a page."""
SEVERITY = {"province": "critical", "department": "warning", "commune": "warning"}
WINDOW = "30d"
"""A month of dossiers: long enough that a bad morning is not an incident, short enough to move within days."""
FOR = "15m"
RECOVERY_MARGIN = 0.01
SOURCE_QUIET_FOR = "30m"
UNIT_QUIET_FOR = "24h"

KPI_SUMMARY = "{kpi} of {unit_name} is {value_pct} over {window}, below the {target_pct} target"
KPI_DESCRIPTION = (
    "{kpi} for {unit_name} ({unit}, {unit_level}) over the {window} window is {value_pct} "
    "({numerator}/{denominator}); the target is {target_pct}; the alert clears at {clear_pct}."
)


def default_rules(targets: Targets) -> dict[str, Any]:
    """The rules document (to be dumped as YAML) for the targets of the default levels."""
    rules: list[dict[str, Any]] = []
    for target in targets.targets:
        if target.level not in LEVELS:
            continue
        rules.append(
            {
                "name": f"{target.kpi}.{target.level}",
                "kpi": target.kpi,
                "window": WINDOW,
                "scope": {"levels": [target.level]},
                "direction": "below" if target.direction == "above" else "above",
                "target": target.target,
                "recovery_margin": RECOVERY_MARGIN,
                "min_denominator": target.min_denominator,
                "severity": SEVERITY[target.level],
                "labels": {"family": "kpi-below-target"},
                "annotations": {
                    "summary": KPI_SUMMARY if target.direction == "above" else KPI_SUMMARY.replace("below", "above"),
                    "description": KPI_DESCRIPTION,
                    "runbook_url": "{runbook_base_url}kpi-below-target.md",
                },
            }
        )
    rules.extend(backlog_rules())
    rules.append(
        {
            "name": "source-stale",
            "kind": "source_stale",
            "quiet_for": SOURCE_QUIET_FOR,
            "for": "0s",
            "severity": "critical",
            "labels": {"family": "source-stale"},
            "annotations": {
                "summary": "No events from source {source} for {age} (allowed: {quiet_for})",
                "description": "The newest event from {source} occurred at {last_event_at}. Check the upstream system "
                "and the ingest service.",
                "runbook_url": "{runbook_base_url}source-stale.md",
            },
        }
    )
    rules.append(
        {
            "name": "unit-stale.district",
            "kind": "unit_stale",
            "scope": {"levels": ["district"]},
            "quiet_for": UNIT_QUIET_FOR,
            "for": "0s",
            "severity": "warning",
            "labels": {"family": "unit-stale"},
            "annotations": {
                "summary": "No events for {unit_name} for {age} (allowed: {quiet_for})",
                "description": "The newest event of {unit_name} ({unit}) or its communes occurred at {last_event_at}.",
                "runbook_url": "{runbook_base_url}unit-stale.md",
            },
        }
    )
    return {"defaults": {"for": FOR, "receivers": []}, "rules": rules}
