"""Pure domain: delinquency buckets, event payloads, layouts, extract parsing."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from caisse_bank_sync.db.outbox_copy import uuid7_strings
from caisse_bank_sync.domain.delinquency import Buckets
from caisse_bank_sync.domain.events import entity_updated_payloads
from caisse_bank_sync.domain.layouts import LAYOUTS, layout
from caisse_bank_sync.sources.csv_blocks import trimmed
from caisse_bank_sync.sources.files import FileConnector


def test_default_buckets_and_boundaries() -> None:
    b = Buckets()
    assert b.labels == ("CURRENT", "1-30", "31-60", "61-90", "90+")
    assert [b.label(d) for d in (None, 0, 1, 30, 31, 60, 61, 90, 91)] == [
        "CURRENT",
        "CURRENT",
        "1-30",
        "1-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "90+",
    ]
    assert b.crossed(30, 31, new=False) and not b.crossed(31, 60, new=False)
    assert b.crossed(None, 5, new=True) and not b.crossed(None, 0, new=True)


def test_configurable_buckets_and_invalid_thresholds() -> None:
    assert Buckets.of([1, 8]).labels == ("CURRENT", "1-7", "7+")
    with pytest.raises(ValueError):
        Buckets.of([0, 5])
    with pytest.raises(ValueError):
        Buckets.of([10, 5])


def test_entity_updated_batches_keep_counts() -> None:
    out = entity_updated_payloads(
        job_id="j",
        entity_type="loan",
        source="T24",
        created=["a", "b", "c"],
        updated=["d"],
        stale=["e"],
        batch_size=2,
    )
    assert [p["affected_records"] for p in out] == [["a", "b"], ["c", "d"], ["e"]]
    assert [(p["created_count"], p["updated_count"], p["stale_count"]) for p in out] == [
        (2, 0, 0),
        (1, 1, 0),
        (0, 0, 1),
    ]


def test_every_source_maps_every_field_to_a_distinct_column() -> None:
    for lay in LAYOUTS.values():
        assert len(set(lay.columns.values())) == len(lay.columns), lay
    assert layout("T24", "loan").column_for("account_number") == "ARRANGEMENT.ID"


def _rows(folder: Path, source: str, entity: str) -> tuple[list, list]:
    async def collect() -> tuple[list, list]:
        ext = FileConnector(source, folder).open(entity)
        rows = [r async for chunk in ext.chunks() for r in chunk]
        return rows, ext.bad_rows

    return asyncio.run(collect())


def test_csv_parsing_quarantines_encoding_width_and_truncation(tmp_path: Path) -> None:
    (tmp_path / "CUSTOMER.EMAIL.csv").write_bytes(
        b"CUSTOMER.ID,EMAIL.TYPE,ADDRESS\nC1,HOME,a@x.sn\nC2,HOME,b\xff@x\nC3,HOME\n"
        b'"C4","WORK","d@x.sn"\nC5,HOME,e@x'
    )
    rows, bad = _rows(tmp_path, "T24", "email")
    assert rows == [(2, "C1", "HOME", "a@x.sn"), (5, "C4", "WORK", "d@x.sn")]
    assert [(b.line, b.reason.split(" ")[0]) for b in bad] == [
        (3, "invalid"),
        (4, "expected"),
        (6, "truncated"),
    ]


def test_jsonl_numbers_are_read_as_exact_text(tmp_path: Path) -> None:
    (tmp_path / "client_emails.jsonl").write_text(
        '{"clientId": 12, "emailType": "HOME", "address": 1.10}\n[1]\n'
    )
    rows, bad = _rows(tmp_path, "W4", "email")
    assert rows == [(1, "12", "HOME", "1.10")]
    assert bad[0].line == 2


def test_only_blocks_without_blanks_at_field_edges_count_as_trimmed() -> None:
    assert trimmed(b"C1,Awa Diop,HOME\nC2,,WORK\n", b",")
    for data in (b" C1,A,B\n", b"C1, A,B\n", b"C1,A ,B\n", b"C1,A,B \n", b"C1,A,B\n C2,A,B\n"):
        assert not trimmed(data, b","), data
    assert not trimmed(b"C1| A|B\n", b"|")
    assert trimmed(b"C1,A|B\n", b"|")


def test_bulk_event_ids_are_distinct_time_ordered_uuids() -> None:
    before = time.time_ns() // 1_000_000
    ids = uuid7_strings(2000)
    after = time.time_ns() // 1_000_000
    parsed = [uuid.UUID(i) for i in ids]
    assert len(set(ids)) == 2000 and all(str(u) == i for u, i in zip(parsed, ids, strict=True))
    assert {u.version for u in parsed} == {7} and {u.variant for u in parsed} == {uuid.RFC_4122}
    assert all(before <= u.int >> 80 <= after for u in parsed)  # the millisecond timestamp
    assert ids == sorted(ids)  # increasing within the batch (index inserts at its right edge)
    assert set(uuid7_strings(2000)).isdisjoint(ids)
    assert uuid7_strings(0) == []
