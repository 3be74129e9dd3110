"""The key-to-partition function agrees with aiokafka's default partitioner (what `send` would choose)."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner, murmur2
from hypothesis import given
from hypothesis import strategies as st

from shared import partitioning
from shared.partitioning import partition_for

pytestmark = pytest.mark.unit


@given(key=st.binary(max_size=200))
def test_murmur2_is_kafkas(key: bytes) -> None:
    assert partitioning.murmur2(key) == murmur2(key)


@given(key=st.binary(max_size=64) | st.text(max_size=40).map(str.encode), partitions=st.integers(1, 500))
def test_each_key_gets_the_partition_the_default_partitioner_gives(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert partition_for(key, partitions=partitions) == DefaultPartitioner()(key, every, every)


@pytest.mark.parametrize(
    ("key", "signed"),
    [(b"21", -973932308), (b"foobar", -790332482), (b"a-little-bit-long-string", -985981536),
     (b"a-little-bit-longer-string", -1486304829), (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
     (b"abc", 479470107)],
)  # fmt: skip
def test_the_hashes_of_the_java_clients_own_tests(key: bytes, signed: int) -> None:
    # Kafka's UtilsTest.testMurmur2: Java ints, so compare the same 32 bits.
    assert partitioning.murmur2(key) == signed & 0xFFFFFFFF


def test_a_record_without_a_key_goes_to_some_partition() -> None:
    assert {partition_for(None, partitions=3) for _ in range(200)} == {0, 1, 2}
