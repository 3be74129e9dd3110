"""Receivers' wire formats (through a mock HTTP transport), signatures, error classes and notification ids."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.alerts.core.conditions import Reading
from services.alerts.core.digest import Digest, DigestEntry
from services.alerts.core.notifications import Alert, AlertNotification, build_notification, notification_id
from services.alerts.core.receivers import AlertmanagerReceiver, SlackReceiver, TelegramReceiver, WebhookReceiver
from services.alerts.core.state import AlertState, Notice, NoticeKind
from services.alerts.delivery.alertmanager import AlertmanagerDeliverer
from services.alerts.delivery.base import DeliveryError
from services.alerts.delivery.chat import TELEGRAM_MAX_CHARS, SlackDeliverer, TelegramDeliverer, telegram_message
from services.alerts.delivery.smtp import email_message
from services.alerts.delivery.webhook import SIGNATURE_HEADER, WebhookDeliverer, verify_signature
from shared.alert_changes import AlertStatus

pytestmark = pytest.mark.unit
NOW = datetime(2026, 5, 10, 8, 0, tzinfo=UTC)


def notification(kind: NoticeKind = NoticeKind.FIRING) -> AlertNotification:
    state = AlertState(
        "online-low",
        "HD.CG",
        AlertStatus.FIRING,
        since=NOW,
        fired_at=NOW,
        episode=1,
        reading=Reading(0.812, NOW, 812, 1000),
    )
    labels = {"alertname": "online-low", "severity": "warning", "unit": "HD.CG"}
    annotations = {"summary": "Cẩm Giàng at 81.2% <b>", "runbook_url": "docs/runbooks/kpi-below-target.md"}
    alert = Alert(state, "warning", labels, annotations, 0.87)
    return build_notification(alert, Notice(kind, 1, 0, NOW + timedelta(hours=1)))


class Recorder:
    """A mock transport answering with a queue of status codes (then 200), keeping every request."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def client(self) -> httpx.AsyncClient:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return httpx.Response(self.statuses.pop(0) if self.statuses else 200, text="ok")

        return httpx.AsyncClient(transport=httpx.MockTransport(handle))

    def json(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


async def test_webhook_body_is_the_notification_signed_with_hmac_sha256() -> None:
    recorder = Recorder()
    config = WebhookReceiver(name="ops", type="webhook", url="http://hooks.test/in", secret_env="X")
    note = notification()
    await WebhookDeliverer(config, client=recorder.client(), secret="s3cret").deliver(
        note.id, note.model_dump(mode="json")
    )
    request = recorder.requests[0]
    assert request.headers["X-CivicPulse-Notification-Id"] == str(note.id)
    assert verify_signature(b"s3cret", request.content, request.headers[SIGNATURE_HEADER])
    assert not verify_signature(b"wrong", request.content, request.headers[SIGNATURE_HEADER])
    assert not verify_signature(b"s3cret", request.content + b" ", request.headers[SIGNATURE_HEADER])
    body = recorder.json()
    assert (body["id"], body["status"], body["value"], body["target"]) == (str(note.id), "firing", 0.812, 0.87)


async def test_alertmanager_gets_a_future_ends_at_while_firing_and_the_resolve_time_when_resolved() -> None:
    recorder = Recorder()
    config = AlertmanagerReceiver(
        name="am",
        type="alertmanager",
        url="http://am.test:9093/",
        resend_interval="1m",
        generator_url="http://civicpulse/alerts",
    )
    deliverer = AlertmanagerDeliverer(config, client=recorder.client(), clock=lambda: NOW)
    firing, resolved = notification(), notification(NoticeKind.RESOLVED)
    await deliverer.deliver(firing.id, firing.model_dump(mode="json"))
    await deliverer.deliver(resolved.id, resolved.model_dump(mode="json"))
    assert str(recorder.requests[0].url) == "http://am.test:9093/api/v2/alerts"
    [alert] = recorder.json(0)
    assert alert["labels"] == {"alertname": "online-low", "severity": "warning", "unit": "HD.CG"}
    assert alert["annotations"]["summary"] == "Cẩm Giàng at 81.2% <b>"
    assert datetime.fromisoformat(alert["startsAt"]) == NOW
    assert datetime.fromisoformat(alert["endsAt"]) == NOW + timedelta(minutes=3)
    assert alert["generatorURL"] == "http://civicpulse/alerts"
    [ended] = recorder.json(1)
    assert datetime.fromisoformat(ended["endsAt"]) == NOW + timedelta(hours=1)


async def test_slack_and_telegram_messages() -> None:
    recorder = Recorder()
    note = notification()
    slack = SlackReceiver(name="chat", type="slack", url_env="SLACK_URL")
    await SlackDeliverer(slack, client=recorder.client(), url="http://slack.test/hook").deliver(
        note.id, note.model_dump(mode="json")
    )
    message = recorder.json()
    assert message["text"] == "[FIRING:warning] Cẩm Giàng at 81.2% <b>"
    assert str(note.id) in message["attachments"][0]["footer"]
    telegram = TelegramReceiver(name="tg", type="telegram", bot_token_env="T", chat_id="-100", api_url="http://tg.test")
    await TelegramDeliverer(telegram, client=recorder.client(), token="123:abc").deliver(
        note.id, note.model_dump(mode="json")
    )
    assert str(recorder.requests[-1].url) == "http://tg.test/bot123:abc/sendMessage"
    sent = recorder.json()
    assert (sent["chat_id"], sent["parse_mode"]) == ("-100", "HTML")
    assert sent["text"].startswith("<b>[FIRING:warning] Cẩm Giàng at 81.2% &lt;b&gt;</b>")


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (503, False), (429, False), (408, False), (400, True), (404, True), (401, True)],
)
async def test_server_errors_are_retried_and_client_errors_are_permanent(status: int, permanent: bool) -> None:
    config = WebhookReceiver(name="ops", type="webhook", url="http://hooks.test/in")
    deliverer = WebhookDeliverer(config, client=Recorder(status).client(), secret=None)
    with pytest.raises(DeliveryError) as raised:
        await deliverer.deliver(uuid.uuid4(), {"a": 1})
    assert raised.value.permanent is permanent


async def test_an_unreachable_receiver_is_a_retryable_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    config = WebhookReceiver(name="ops", type="webhook", url="http://hooks.test/in")
    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    with pytest.raises(DeliveryError) as raised:
        await WebhookDeliverer(config, client=client, secret=None).deliver(uuid.uuid4(), {})
    assert not raised.value.permanent


def test_email_has_the_notification_id_as_message_id() -> None:
    note = notification(NoticeKind.RESOLVED)
    message = email_message(note, sender="alerts@example.org", recipients=["a@example.org", "b@example.org"])
    assert message["Subject"] == "[RESOLVED] Cẩm Giàng at 81.2% <b>"
    assert message["Message-ID"] == f"<{note.id}@civicpulse>"
    assert message["To"] == "a@example.org, b@example.org"
    assert "Runbook: docs/runbooks/kpi-below-target.md" in message.get_content()


def test_notification_ids_depend_on_alert_episode_kind_and_sequence_only() -> None:
    first = notification_id("r/HD", episode=1, kind=NoticeKind.FIRING, sequence=0)
    assert first == notification_id("r/HD", episode=1, kind=NoticeKind.FIRING, sequence=0)
    others = {
        notification_id("r/HD", episode=2, kind=NoticeKind.FIRING, sequence=0),
        notification_id("r/HD", episode=1, kind=NoticeKind.RESOLVED, sequence=0),
        notification_id("r/HD", episode=1, kind=NoticeKind.REPEAT, sequence=1),
        notification_id("r/HG", episode=1, kind=NoticeKind.FIRING, sequence=0),
    }
    assert first not in others
    assert len(others) == 4


def test_a_long_digest_fits_in_one_telegram_message() -> None:
    at = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)
    entries = [
        DigestEntry(alert_id=f"gap/HD.{i:03}", rule="gap", subject=f"HD.{i:03}", severity="warning", labels={},
                    summary=f"full_online_rate of commune {i:03} is 12.0% over 30d, below the 30.0% target " * 2,
                    value=0.12, target=0.3, gap=0.6, numerator=12, denominator=100, since=at, previous_value=None,
                    change=None, new=True)
        for i in range(300)
    ]  # fmt: skip
    digest = Digest(id=uuid.uuid4(), receiver="tg", slot=at, at=at, previous_slot=None, count=300, entries=entries,
                    cleared=[])  # fmt: skip
    text = telegram_message(digest, chat_id="-100")["text"]
    assert len(text) <= TELEGRAM_MAX_CHARS
    assert text.startswith("<b>[DIGEST] 300 below target")
    assert text.endswith("…")
