"""The shipped rules, built from the default KPI targets: for every KPI and unit level a page rule for a slip and
a digest rule for a chronic gap, plus backlog rules (core/backlog_defaults.py) and staleness rules."""

from __future__ import annotations

from typing import Any

from services.alerts.core.backlog_defaults import backlog_rules
from services.alerts.core.rules import NON_ADDITIVE_KPIS
from shared.targets import TargetRule, Targets

LEVELS = ("province", "department", "district", "commune")
"""Every level: today's two tiers, and the districts of trees before 1 July 2025 (the seeds' Hải Dương 2024)."""
SEVERITY = {"province": "critical", "department": "warning", "district": "warning", "commune": "warning"}

PAGE_PERIOD = "4h"
"""A slip is judged on the dossiers of the last four hours: "a district falling from 87% to 60% in an afternoon"
shows within the afternoon, while one bad dossier among few does not (the minimum sample below)."""
PAGE_WINDOW = "ytd"
"""The period-to-date window the last four hours are read from (its counts only grow within the year)."""
PAGE_BASELINE = "7d"
"""The unit's recent level: its last seven days without the four hours judged. A unit below target over them is a
chronic gap (the digest's), not a slip."""
PAGE_BASELINE_NON_ADDITIVE = ("7d", "30d")
"""online_service_usage_rate counts distinct procedures: no value over four hours; its week against its month."""
PAGE_MIN_DROP = 0.10
"""A slip is at least 10 points under the unit's recent level (and under the target). GUESS: 5 points paged a
district whose week had come out at 95% on-time by chance (its true rate 93%) on a bad minute of the e2e run."""
PAGE_Z = 4.0
"""...and more than four standard errors of the difference under it (two samples: the stretch and the week), so
a small unit needs a larger fall: at 87% with 300 dossiers in its week, 50 dossiers must fall under 65%, 100
under 70%, 200 under 73%. A unit behaving normally does that once in 30,000 stretches of 50 dossiers (GUESS: at
3 deviations, once in 800, a commune of the e2e run went pending on noise)."""
PAGE_MIN_DENOMINATOR = {"province": 200, "department": 50, "district": 50, "commune": 30}
"""Dossiers a four-hour stretch needs before it is judged at all; the z test above decides how far a small sample
must fall. GUESS: a commune sees 20-50 dossiers a day, so most communes page only on a busy day's slip (their
chronic gaps reach the digest over 30 days). At 100 each, a district of the e2e run (about 85 dossiers a
compressed four hours) had no data once the incident ended, and its page could not resolve."""
PAGE_FOR = "15m"

DIGEST_WINDOW = "30d"
"""A month of dossiers: a chronic gap is one the month's figure shows."""
DIGEST_FOR = "1h"
RECOVERY_MARGIN = 0.01
SOURCE_QUIET_FOR = "30m"
SOURCE_FOR = "5m"
"""A backfill sends history first: a source's newest event is days old until it catches up, usually within
minutes. GUESS: five minutes of grace page a real outage 35 minutes in, and no backfill."""
UNIT_QUIET_FOR = "24h"
UNIT_FOR = "1h"

PAGE_SUMMARY = (
    "{kpi} of {unit_name} slipped to {value_pct} over the last {period}, below the {target_pct} target "
    "(it was {reference_pct} over {compared_with})"
)
PAGE_DESCRIPTION = (
    "{kpi} for {unit_name} ({unit}, {unit_level}) is {value_pct} ({numerator}/{denominator}) over the last {period}, "
    "against {reference_pct} over {compared_with} before it and a {target_pct} target; the alert clears at "
    "{clear_pct}."
)
DIGEST_SUMMARY = "{kpi} of {unit_name} is {value_pct} over {window}, below the {target_pct} target"
DIGEST_DESCRIPTION = (
    "{kpi} for {unit_name} ({unit}, {unit_level}) over the {window} window is {value_pct} "
    "({numerator}/{denominator}); the target is {target_pct}; it leaves the digest at {clear_pct}."
)


def _flip(text: str, target: TargetRule) -> str:
    return text if target.direction == "above" else text.replace("below", "above")


def page_rule(target: TargetRule) -> dict[str, Any]:
    """The rule paging when the KPI of a unit at the target's level slips."""
    rule: dict[str, Any] = {"name": f"{target.kpi}.slip.{target.level}", "notify": "page", "kpi": target.kpi}
    if target.kpi in NON_ADDITIVE_KPIS:
        window, baseline = PAGE_BASELINE_NON_ADDITIVE
        rule.update(window=window)
    else:
        baseline = PAGE_BASELINE
        rule.update(window=PAGE_WINDOW, period=PAGE_PERIOD)
    rule.update(
        scope={"levels": [target.level]},
        direction="below" if target.direction == "above" else "above",
        target=target.target,
        recovery_margin=RECOVERY_MARGIN,
        min_denominator=max(target.min_denominator, PAGE_MIN_DENOMINATOR[target.level]),
        slip={"baseline": baseline, "min_drop": PAGE_MIN_DROP, "z": PAGE_Z},
        severity=SEVERITY[target.level],
        labels={"family": "kpi-slip"},
        annotations={
            "summary": _flip(PAGE_SUMMARY, target),
            "description": PAGE_DESCRIPTION,
            "runbook_url": "{runbook_base_url}kpi-slip.md",
        },
    )
    rule["for"] = PAGE_FOR
    return rule


def digest_rule(target: TargetRule) -> dict[str, Any]:
    """The rule listing a unit whose month's KPI misses the target in its receivers' digest."""
    return {
        "name": f"{target.kpi}.gap.{target.level}",
        "notify": "digest",
        "kpi": target.kpi,
        "window": DIGEST_WINDOW,
        "scope": {"levels": [target.level]},
        "direction": "below" if target.direction == "above" else "above",
        "target": target.target,
        "recovery_margin": RECOVERY_MARGIN,
        "min_denominator": target.min_denominator,
        "for": DIGEST_FOR,
        "severity": SEVERITY[target.level],
        "labels": {"family": "kpi-below-target"},
        "annotations": {
            "summary": _flip(DIGEST_SUMMARY, target),
            "description": DIGEST_DESCRIPTION,
            "runbook_url": "{runbook_base_url}kpi-below-target.md",
        },
    }


def default_rules(targets: Targets) -> dict[str, Any]:
    """The rules document (to be dumped as YAML) for the targets of the default levels."""
    chosen = [t for t in targets.targets if t.level in LEVELS]
    rules: list[dict[str, Any]] = [page_rule(t) for t in chosen]
    rules += [digest_rule(t) for t in chosen]
    rules.extend(backlog_rules())
    rules.append(
        {
            "name": "source-stale",
            "kind": "source_stale",
            "quiet_for": SOURCE_QUIET_FOR,
            "for": SOURCE_FOR,
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
            "for": UNIT_FOR,
            "severity": "warning",
            "labels": {"family": "unit-stale"},
            "annotations": {
                "summary": "No events for {unit_name} for {age} (allowed: {quiet_for})",
                "description": "The newest event of {unit_name} ({unit}) or its communes occurred at {last_event_at}.",
                "runbook_url": "{runbook_base_url}unit-stale.md",
            },
        }
    )
    return {"defaults": {"for": PAGE_FOR, "receivers": []}, "rules": rules}
