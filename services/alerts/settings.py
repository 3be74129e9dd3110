"""Settings of the alerts service."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from shared.settings import HttpSettings, PostgresSettings, ServiceSettings, refuse_placeholder

log = logging.getLogger(__name__)
DEFAULT_RULES_FILE = Path(__file__).resolve().parent / "default_rules.yaml"
DEVELOPMENT_ADMIN_TOKEN = "development-admin-token"  # noqa: S105 (accepted in development only, with a warning)


class AlertsSettings(ServiceSettings, PostgresSettings, HttpSettings):
    """Everything the alerts service reads from `CIVICPULSE_*`."""

    http_port: int = Field(default=8003, ge=0, le=65535, description="HTTP port.")
    alerts_rules_file: Path = Field(default=DEFAULT_RULES_FILE, description="Rules YAML (reloaded on SIGHUP/change).")
    alerts_receivers_file: Path | None = Field(
        default=None, description="Optional YAML with a `receivers:` list, merged into the rules file's."
    )
    alerts_rules_poll_s: float = Field(default=5.0, gt=0, description="How often the rules files' mtime is checked.")
    alerts_group_id: str = Field(default="civicpulse-alerts", description="Consumer group of the snapshots topic.")
    alerts_offset_reset: Literal["latest", "earliest"] = Field(
        default="latest",
        description="Where a new consumer group starts; `latest` suffices as current snapshots come from the table.",
    )
    alerts_batch_max_records: int = Field(default=2000, ge=1, description="Most snapshots evaluated in one batch.")
    alerts_eval_interval_s: float = Field(
        default=10.0, gt=0, description="Timer evaluation period: `for`, staleness and repeats advance on it."
    )
    alerts_repeat_interval_s: float = Field(
        default=4 * 3600.0, gt=0, description="Re-notify a still-firing alert this often (a rule may override)."
    )
    alerts_runbook_base_url: str = Field(
        default="docs/runbooks/", description="Prefix of runbook links, `{runbook_base_url}` in annotations."
    )
    alerts_dispatch_poll_s: float = Field(default=1.0, gt=0, description="How often the outbox is polled.")
    alerts_dispatch_batch: int = Field(default=50, ge=1, description="Most notifications claimed per poll.")
    alerts_dispatch_max_attempts: int = Field(
        default=10, ge=1, description="Delivery attempts before a notification is recorded as failed."
    )
    alerts_dispatch_backoff_base_s: float = Field(default=2.0, gt=0, description="First retry delay (doubles).")
    alerts_dispatch_backoff_max_s: float = Field(default=600.0, gt=0, description="Longest retry delay.")
    alerts_dispatch_lease_s: float = Field(
        default=60.0, gt=0, description="A claimed notification is retried if not settled within this (crash)."
    )
    alerts_outbox_retention_days: float = Field(
        default=30.0, gt=0, description="Delivered notifications are kept this long (failed ones until removed)."
    )
    alerts_time_scale: float = Field(
        default=1.0,
        ge=1,
        description="Divide the KPI rules' `for`, `period` and `falling.over` by this (tests and demos only: 240 "
        "turns 4h into 1m).",
    )
    alerts_digest_poll_s: float = Field(
        default=5.0, gt=0, description="How often the receivers' digest schedules are checked."
    )
    alerts_retry_backoff_s: float = Field(default=1.0, gt=0, description="Pause before a failed batch is retried.")
    alerts_admin_token: SecretStr | None = Field(
        default=None, description="Bearer token for creating and deleting silences (secret; required outside dev)."
    )

    @model_validator(mode="after")
    def _admin_token(self) -> AlertsSettings:
        refuse_placeholder(environment=self.environment, name="alerts_admin_token", value=self.alerts_admin_token)
        return self

    def admin_token(self) -> str:
        """The admin token; in development an unset one falls back to a fixed value, with a warning."""
        if self.alerts_admin_token is not None:
            return self.alerts_admin_token.get_secret_value()
        log.warning("CIVICPULSE_ALERTS_ADMIN_TOKEN is unset: using the development token; never do this in production")
        return DEVELOPMENT_ADMIN_TOKEN
