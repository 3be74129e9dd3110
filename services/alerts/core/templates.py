"""Annotation templates: `str.format` fields from a fixed vocabulary, checked when the rules file is read."""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from typing import Any

KPI_FIELDS: dict[str, Any] = {
    "rule": "rule-name",
    "severity": "warning",
    "kpi": "online_submission_rate",
    "window": "30d",
    "unit": "HD.CG",
    "unit_name": "Huyện Cẩm Giàng",
    "unit_level": "district",
    "value": 0.8123,
    "value_pct": "81.2%",
    "target": 0.87,
    "target_pct": "87.0%",
    "recovery_margin": 0.01,
    "clear_pct": "88.0%",
    "numerator": 812,
    "denominator": 1000,
    "min_denominator": 50,
    "direction": "below",
    "notify": "page",
    "period": "4h",
    "compared_with": "7d",
    "reference_pct": "87.0%",
    "runbook_base_url": "docs/runbooks/",
}
"""Fields a KPI rule's templates may use, with sample values used to check a template renders. `period`: the
rule's `period`, else its window; `compared_with` and `reference_pct`: a `slip` rule's baseline window and its
value, or a `falling` rule's look-back and the value then."""

BACKLOG_FIELDS: dict[str, Any] = {
    "rule": "rule-name",
    "severity": "warning",
    "unit": "H24.107",
    "unit_name": "Phường Hồng Bàng",
    "unit_level": "commune",
    "measure": "overdue_share",
    "value": 0.25,
    "value_text": "25.0%",
    "threshold": 0.15,
    "threshold_text": "15.0%",
    "clear_text": "10.0%",
    "overdue": 10,
    "in_progress": 40,
    "overdue_pct": "25.0%",
    "min_in_progress": 20,
    "notify": "page",
    "runbook_base_url": "docs/runbooks/",
}
"""Fields a backlog rule's templates may use: `value_text`, `threshold_text`, `clear_text` are percentages for
`overdue_share` and counts for `overdue`; `overdue_pct` is always the share."""

STALENESS_FIELDS: dict[str, Any] = {
    "rule": "rule-name",
    "severity": "critical",
    "source": "dvcqg",
    "unit": "HD.CG",
    "unit_name": "Huyện Cẩm Giàng",
    "unit_level": "district",
    "quiet_for": "30m",
    "age": "45m",
    "value": 2700.0,
    "target": 1800.0,
    "last_event_at": "2026-05-10T12:00:00+00:00",
    "notify": "page",
    "runbook_base_url": "docs/runbooks/",
}
"""Fields a staleness rule's templates may use (`source` or `unit`, depending on the rule)."""

_FORMATTER = string.Formatter()


def template_fields(template: str) -> list[str]:
    """Names of the fields a template refers to; raises ValueError on malformed braces."""
    names = []
    for _literal, field, spec, _conversion in _FORMATTER.parse(template):
        if field is not None:
            names.append(field)
            if spec:
                names.extend(template_fields(spec))
    return names


def check_template(template: str, allowed: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first unknown field, indexing, or a format spec that does not apply."""
    for name in template_fields(template):
        if name == "" or name.isdigit():
            raise ValueError("positional fields like {} are not allowed; name a field, e.g. {value_pct}")
        if name not in allowed:
            raise ValueError(f"unknown field {{{name}}}; known: {', '.join(sorted(allowed))}")
    try:
        template.format_map(allowed)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(f"does not render: {exc}") from exc


def render(template: str, context: Mapping[str, Any]) -> str:
    """Fill a checked template; a value that breaks its format spec (e.g. no data) leaves the raw template."""
    try:
        return template.format_map(context)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return template


def percent(value: float | None) -> str:
    """`0.8123` → `81.2%`; None → `no data`."""
    if value is None or math.isnan(value):
        return "no data"
    return f"{value:.1%}"
