"""The alert change: one state change of one alert, the message on `civicpulse.alerts` (key = alert id).

Alerts produces it through its outbox (id stable per change, so a consumer de-duplicates on it); JSON Schema in
`shared/schema/alert_change.schema.json`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AlertStatus(StrEnum):
    """Where an alert is in its lifecycle."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertChange(BaseModel):
    """A state change as published to `civicpulse.alerts` (key = alert id)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(description="Stable id of this change: the same change always has the same id.")
    alert_id: str = Field(description="The alert: rule and subject, e.g. `online_submission_rate.district/HD.CG`.")
    rule: str
    subject: str = Field(description="What the rule watches: a unit code, a source, ...")
    severity: str
    from_status: AlertStatus
    to_status: AlertStatus
    at: datetime
    episode: int = Field(description="Counts the alert's firings; a new episode starts at each pending.")
    value: float | None
    target: float | None
    numerator: int | None
    denominator: int | None
    labels: dict[str, str]
    annotations: dict[str, str]


def alert_change_json_schema() -> dict[str, Any]:
    """JSON Schema of the alert change message."""
    schema = AlertChange.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "CivicPulse alert change"
    return schema
