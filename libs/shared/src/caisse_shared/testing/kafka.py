"""Broker helpers for tests: wait until a consumer group has processed what a test produced."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import RecordMetadata


def next_offsets(sent: Iterable[RecordMetadata]) -> dict[TopicPartition, int]:
    """The offset after the last record sent to each partition: what a group commits once done.

    Taken from the producer's send results, not from ``end_offsets``: the embedded Tansu broker
    reports wrong end offsets after multi-record batches.
    """
    out: dict[TopicPartition, int] = {}
    for meta in sent:
        tp = TopicPartition(meta.topic, meta.partition)
        out[tp] = max(out.get(tp, 0), meta.offset + 1)
    return out


async def committed_offsets(
    admin: AIOKafkaAdminClient, group: str, partitions: Iterable[TopicPartition]
) -> dict[TopicPartition, int]:
    """The offsets ``group`` committed on ``partitions`` (-1 where it has none yet)."""
    got = await admin.list_consumer_group_offsets(group, partitions=list(partitions))
    return {tp: (meta.offset if meta is not None else -1) for tp, meta in got.items()}


async def wait_for_committed(
    bootstrap: str, group: str, offsets: Mapping[TopicPartition, int], timeout_s: float = 30.0
) -> None:
    """Wait until ``group`` committed at least ``offsets``, i.e. finished every record before them.

    The consumer runner commits after each transaction, so once this returns the group's effects
    of those records are committed: "nothing else happened" can then be asserted without a sleep.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            have = await committed_offsets(admin, group, offsets)
            if all(have.get(tp, -1) >= off for tp, off in offsets.items()):
                return
            if loop.time() > deadline:
                raise AssertionError(f"group {group} committed {have}, expected at least {dict(offsets)}")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
