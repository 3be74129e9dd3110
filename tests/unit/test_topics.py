"""Reading the broker's per-topic answer to a create request (aiokafka returns it, raising none of its errors)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import InvalidReplicationFactorError

from shared.topics import TopicSpec, _create

pytestmark = pytest.mark.unit
SPEC = TopicSpec("civicpulse.events", 12, 3, {"retention.ms": "1"})


class Admin:
    def __init__(self, error_code: int) -> None:
        self.error_code = error_code

    async def create_topics(self, topics: list[Any]) -> Any:
        return SimpleNamespace(topic_errors=[(topics[0].name, self.error_code, None)])


async def test_a_topic_is_created_only_if_the_broker_says_so() -> None:
    assert await _create(Admin(0), SPEC) is True
    # "already exists": a topic the listing missed (created a moment ago): not created here, checked for drift
    assert await _create(Admin(36), SPEC) is False


async def test_any_other_refusal_is_raised_with_the_topic_named() -> None:
    with pytest.raises(InvalidReplicationFactorError, match=r"civicpulse\.events"):
        await _create(Admin(38), SPEC)
