"""Silences: Alertmanager-style matchers, time bounds, and the guard against silencing everything."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.alerts.core.silences import Matcher, Silence, silencing
from services.alerts.core.templates import percent, render
from services.alerts.settings import DEVELOPMENT_ADMIN_TOKEN, AlertsSettings

pytestmark = pytest.mark.unit
NOW = datetime(2026, 5, 10, 8, 0, tzinfo=UTC)
LABELS = {"alertname": "online-low", "severity": "warning", "unit": "HD.CG", "kpi": "online_submission_rate"}


def silence(*matchers: dict[str, Any], starts: datetime = NOW, ends: datetime = NOW + timedelta(hours=1)) -> Silence:
    return Silence(
        id=uuid.uuid4(),
        matchers=[Matcher(**m) for m in matchers],
        starts_at=starts,
        ends_at=ends,
        author="ops",
        comment="maintenance",
    )


@pytest.mark.parametrize(
    ("matcher", "mutes"),
    [
        ({"name": "unit", "value": "HD.CG"}, True),
        ({"name": "unit", "value": "HD.C"}, False),
        ({"name": "unit", "value": "HD\\..*", "is_regex": True}, True),
        ({"name": "unit", "value": "HD", "is_regex": True}, False),  # regexes are anchored
        ({"name": "team", "value": "ioc"}, False),  # a missing label is the empty string
    ],
)
def test_matchers_follow_alertmanager_semantics(matcher: dict[str, Any], mutes: bool) -> None:
    assert silence(matcher).mutes(LABELS, NOW) is mutes


def test_all_matchers_must_match() -> None:
    both = silence({"name": "unit", "value": "HD.CG"}, {"name": "severity", "value": "critical"})
    assert not both.mutes(LABELS, NOW)
    negated = silence({"name": "unit", "value": "HD.CG"}, {"name": "severity", "value": "critical", "is_equal": False})
    assert negated.mutes(LABELS, NOW)


def test_a_silence_mutes_only_between_its_start_and_end() -> None:
    later = silence({"name": "unit", "value": "HD.CG"}, starts=NOW + timedelta(minutes=5))
    assert silencing([later], LABELS, NOW) == []
    assert silencing([later], LABELS, NOW + timedelta(minutes=5)) == [later.id]
    assert silencing([later], LABELS, later.ends_at) == []


def test_a_silence_of_everything_or_with_a_bad_regex_is_refused() -> None:
    with pytest.raises(ValidationError, match="silence of everything"):
        silence({"name": "unit", "value": ".*", "is_regex": True})
    with pytest.raises(ValidationError, match="silence of everything"):
        silence({"name": "severity", "value": "critical", "is_equal": False})
    with pytest.raises(ValidationError, match="invalid regex"):
        silence({"name": "unit", "value": "(", "is_regex": True})


def test_templates_render_values_and_survive_missing_data() -> None:
    context = {"unit_name": "Cẩm Giàng", "value": 0.812, "target_pct": "87.0%"}
    assert render("{unit_name}: {value:.1%} < {target_pct}", context) == "Cẩm Giàng: 81.2% < 87.0%"
    assert percent(None) == "no data"
    assert render("{value:d}", {"value": 0.5}) == "{value:d}"  # a spec that does not apply leaves the template


def test_admin_token_is_required_outside_development_and_defaults_with_a_warning_in_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(ValidationError, match="alerts_admin_token must be set"):
        AlertsSettings(environment="production", alerts_admin_token=None)
    with pytest.raises(ValidationError, match="alerts_admin_token must be set"):
        AlertsSettings(environment="test", alerts_admin_token="changeme")
    assert AlertsSettings(environment="production", alerts_admin_token="a-real-one").admin_token() == "a-real-one"
    assert AlertsSettings(environment="development").admin_token() == DEVELOPMENT_ADMIN_TOKEN
    assert "ALERTS_ADMIN_TOKEN is unset" in caplog.text
