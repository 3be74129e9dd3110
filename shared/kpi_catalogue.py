"""The KPI catalogue every service agrees on: KPI names, the windows they are computed over, Vietnam time.

A contract, not metrics' code: metrics computes these KPIs, alerts writes rules on them, the simulator and the
dashboards name them. How each KPI is computed (its counters) stays in `services/metrics/core/kpis.py`, which
checks at import that it defines exactly these names.
"""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
"""Every window and calendar period is in Vietnam time (UTC+7 all year, no daylight saving)."""

KPI_NAMES: tuple[str, ...] = (
    "online_submission_rate",
    "full_online_rate",
    "online_service_usage_rate",
    "online_result_rate",
    "digitization_rate",
    "essential_online_rate",
    "on_time_rate",
    "satisfaction_rate",
    "feedback_satisfaction_rate",
    "feedback_on_time_rate",
    "online_payment_rate",
)
"""Every KPI, in the order reports and dashboards list them."""

UNKNOWN_LEVEL = "unknown"
"""Level of a unit that events name but the unit tree lacks."""


class WindowName(StrEnum):
    """The windows every KPI is computed over."""

    D1 = "1d"
    D7 = "7d"
    D30 = "30d"
    MTD = "mtd"
    QTD = "qtd"
    YTD = "ytd"


def catalogue_json_schema() -> dict[str, object]:
    """JSON Schema of the catalogue's names: what a KPI name, a window name and the timezone may be."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "CivicPulse KPI catalogue",
        "description": "KPI and window names every service uses; windows and periods are in Vietnam time.",
        "$defs": {
            "KpiName": {"enum": list(KPI_NAMES), "type": "string"},
            "WindowName": {"enum": [w.value for w in WindowName], "type": "string"},
            "Timezone": {"const": str(VIETNAM), "type": "string"},
        },
    }
