"""The project's topics: wanted settings, idempotent creation and a report of drift from what the broker has."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

from shared.settings import KafkaSettings, TopicSettings

log = logging.getLogger(__name__)
METADATA_TRIES = 25
METADATA_WAIT_S = 0.2
"""How long a topic found existing may take to appear in the answering broker's metadata (5 s in all)."""
RAW_MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""The raw topic takes records larger than a valid event, so oversized ones reach the DLQ, not a producer error."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """What a topic should look like."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TopicReport:
    """What `ensure_topics` did to one topic and how it still differs from the spec."""

    name: str
    created: bool
    drift: list[str]


def wanted_topics(settings: TopicSettings) -> list[TopicSpec]:
    """The five topics with partition counts and retention from settings."""
    rf = settings.replication_factor

    def spec(name: str, partitions: int, retention_ms: int, **extra: str) -> TopicSpec:
        return TopicSpec(name, partitions, rf, {"retention.ms": str(retention_ms), **extra})

    return [
        spec(settings.topic_raw, settings.events_partitions, settings.events_retention_ms,
             **{"max.message.bytes": str(RAW_MAX_MESSAGE_BYTES)}),
        spec(settings.topic_events, settings.events_partitions, settings.events_retention_ms),
        spec(settings.topic_dlq, settings.other_partitions, settings.dlq_retention_ms,
             **{"max.message.bytes": str(RAW_MAX_MESSAGE_BYTES + 64 * 1024)}),
        spec(settings.topic_snapshots, settings.other_partitions, settings.snapshots_retention_ms),
        spec(settings.topic_alerts, settings.other_partitions, settings.alerts_retention_ms),
    ]  # fmt: skip


async def ensure_topics(kafka: KafkaSettings, topics: TopicSettings) -> list[TopicReport]:
    """Create missing topics; report partition and config drift on existing ones without changing them."""
    admin = AIOKafkaAdminClient(**kafka.aiokafka_options(), client_id=f"{kafka.kafka_client_id}-admin")
    await admin.start()
    try:
        specs = wanted_topics(topics)
        existing = set(await admin.list_topics())
        created = {spec.name for spec in specs if spec.name not in existing and await _create(admin, spec)}
        described: dict[str, Any] = {}
        for _ in range(METADATA_TRIES):  # a topic found existing may not be in this broker's metadata yet
            described = {d["topic"]: d for d in await admin.describe_topics([s.name for s in specs])}
            if all(described.get(s.name, {}).get("partitions") for s in specs if s.name not in created):
                break
            await asyncio.sleep(METADATA_WAIT_S)
        config_results = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, s.name) for s in specs])
        actual_configs: dict[str, dict[str, str]] = {}
        for response in config_results:
            for resource in response.resources:
                _error, _message, _type, name, entries = resource[:5]
                actual_configs[name] = {entry[0]: entry[1] for entry in entries}
        reports = []
        for spec in specs:
            if spec.name in created:  # just created as wanted; its metadata may not have reached every broker yet
                reports.append(TopicReport(spec.name, True, []))
                continue
            drift = _drift(spec, described.get(spec.name, {}), actual_configs.get(spec.name, {}))
            reports.append(TopicReport(spec.name, False, drift))
            if drift:
                log.warning("topic drift", extra={"topic": spec.name, "drift": drift})
        return reports
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, spec: TopicSpec) -> bool:
    """Create one topic; False if it exists already (another process, or a listing that did not show it yet)."""
    try:
        response = await admin.create_topics(
            [NewTopic(spec.name, spec.partitions, spec.replication_factor, topic_configs=spec.configs)]
        )
    except TopicAlreadyExistsError:
        return False
    # The broker answers per topic and aiokafka raises none of those errors: a topic created a moment ago whose
    # metadata had not reached the answering broker comes back "already exists".
    errors = [e[1] for e in response.topic_errors if e[1] != 0]
    if errors and errors[0] != TopicAlreadyExistsError.errno:
        raise for_code(errors[0])(f"creating topic {spec.name}")
    return not errors


def _drift(spec: TopicSpec, described: dict[str, Any], configs: dict[str, str]) -> list[str]:
    drift = []
    partitions = len(described.get("partitions", []))
    if partitions != spec.partitions:
        drift.append(f"partitions {partitions} (wanted {spec.partitions})")
    for key, value in spec.configs.items():
        actual = configs.get(key)
        if actual != value:
            drift.append(f"{key}={actual} (wanted {value})")
    return drift
