"""First load into an empty table (plain INSERT) gives what the ON CONFLICT path gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from caisse_bank_sync import synthetic
from caisse_bank_sync.db import write_sql
from caisse_bank_sync.domain.entities import LOAN
from caisse_bank_sync.services import pipeline
from caisse_bank_sync.services.engine import SyncEngine
from sqlalchemy import text

from .helpers import SERVICE_DIR, Harness

OTHER = "ZZ_OTHER_SOURCE"
ENTITIES = ["customer", "loan"]
COUNTS = (
    "entities_processed",
    "entities_created",
    "entities_updated",
    "entities_unchanged",
    "entities_stale",
    "errors",
)


def _line(values: dict[str, str]) -> bytes:
    return (",".join(values.get(f, "") for f in LOAN.field_names) + "\n").encode()


def _extract(folder: Path) -> None:
    """Customers and loans with good rows and every kind of bad one (CSV, so COPY and Python)."""
    synthetic.generate("T24", folder, customers=8, loans=12, seed=4, delinquent_ratio=0.3, entities=ENTITIES)
    bad = {**synthetic.loan_row(3, 8), "days_past_due": "x"}
    with (folder / "AA.ARRANGEMENT.csv").open("ab") as fh:
        fh.write(_line(synthetic.loan_row(2, 8)))  # duplicate key
        fh.write(_line(bad))  # wrong type (and the key is duplicated too)
        fh.write(_line({**synthetic.loan_row(20, 8), "outstanding_principal": "1e40"}))
        fh.write(_line({**synthetic.loan_row(21, 8), "cif": "CIF_GHOST"}))  # integrity
        fh.write(b"LN_SHORT,CIF1\n")


async def _seed_other_source(h: Harness) -> None:
    """One record of another source in each table: the tables are no longer empty."""
    async with h.db.unit_of_work() as s:
        conn = (await (await s.connection()).get_raw_connection()).driver_connection
        await conn.execute(
            "INSERT INTO bank_sync.customer (cif, full_name, source_system) VALUES ($1, 'x', 'LOS')",
            OTHER,
        )
        await conn.execute(
            "INSERT INTO bank_sync.loan (account_number, cif, currency, status, original_amount,"
            " outstanding_principal, source_system) VALUES ($1, $1, 'XOF', 'ACTIVE', 1, 1, 'LOS')",
            OTHER,
        )


async def _state(h: Harness, job: dict[str, Any]) -> dict[str, Any]:
    tables = {
        n: [r for r in await h.table(n) if OTHER not in (r.get("cif"), r.get("account_number"))]
        for n in ("customer", "loan")
    }
    errors = await h.rows(
        "SELECT entity_type, kind, line, natural_key, reason FROM bank_sync.sync_error"
        " WHERE job_id = :j ORDER BY entity_type, kind, line, natural_key",
        j=job["id"],
    )
    events = await h.rows(
        "SELECT event_type, key, count(*) AS n FROM bank_sync.outbox WHERE event_type <>"
        " 'banksync.SyncCompleted' GROUP BY 1, 2 ORDER BY 1, 2"
    )
    return {"counts": {c: job[c] for c in COUNTS}, "tables": tables, "errors": errors, "events": events}


async def _run(
    pg: Any, tmp_path: Path, name: str, seeded: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], int]:
    h = Harness(await pg.migrated_database(SERVICE_DIR), tmp_path / name)
    _extract(h.folder / "T24")
    calls: list[str] = []
    real = write_sql.insert_new

    def spy(spec: Any, part: int, returning: tuple[str, ...] = ()) -> str:
        calls.append(spec.name)
        return real(spec, part, returning)

    monkeypatch.setattr(write_sql, "insert_new", spy)
    try:
        if seeded:
            await _seed_other_source(h)
        job, _ = await h.sync()
        assert job["status"] == "COMPLETED"
        return await _state(h, job), len(calls)
    finally:
        await h.db.dispose()


async def test_fast_first_load_matches_the_upsert_path(
    pg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, fast_calls = await _run(pg, tmp_path, "fast", False, monkeypatch)
    slow, slow_calls = await _run(pg, tmp_path, "slow", True, monkeypatch)
    assert (fast_calls, slow_calls) == (2, 0)  # customer and loan took the fast path
    assert fast == slow
    reasons = {e["reason"] for e in fast["errors"]}
    assert {
        "duplicate key in extract",
        "outstanding_principal overflows",
        "expected 16 fields, got 2",
        "references missing customer CIF_GHOST",
    } <= reasons
    assert fast["counts"]["entities_created"] == 8 + 10 + 1  # loans 2 and 3 are duplicated
    assert any(e["event_type"] == "banksync.LoanDelinquencyChanged" for e in fast["events"])


async def test_reload_after_a_fast_first_load_is_unchanged(pg, tmp_path: Path) -> None:
    h = Harness(await pg.migrated_database(SERVICE_DIR), tmp_path)
    try:
        synthetic.generate("T24", h.folder / "T24", customers=6, loans=9, seed=2, entities=ENTITIES)
        first, _ = await h.sync()
        again, _ = await h.sync()
        assert first["entities_created"] == first["entities_processed"] == 15
        assert (again["entities_unchanged"], again["entities_created"]) == (15, 0)
        assert again["entities_updated"] == again["entities_stale"] == 0
    finally:
        await h.db.dispose()


async def test_composite_keys_in_events_and_invalid_rows_keep_records_alive(pg, tmp_path: Path) -> None:
    h = Harness(await pg.migrated_database(SERVICE_DIR), tmp_path)
    try:
        folder = h.folder / "T24"
        synthetic.generate(
            "T24", folder, customers=4, loans=5, seed=2, entities=["customer", "phone", "loan"]
        )
        await h.sync()
        phones = {f"{r['cif']}:{r['phone_type']}" for r in await h.table("phone")}
        events = await h.outbox("banksync.EntityUpdated")
        assert {k for e in events if e["entity_type"] == "phone" for k in e["affected_records"]} == phones
        path = folder / "AA.ARRANGEMENT.csv"
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:-1]) + lines[-1].replace(b",XOF,", b",ZZZ,"))  # invalid
        job, _ = await h.sync(entity="loan")
        assert (job["errors"], job["entities_stale"]) == (1, 0)  # quarantined, yet not missing
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:-1]))  # now really missing
        job, _ = await h.sync(entity="loan")
        assert job["entities_stale"] == 1
    finally:
        await h.db.dispose()


async def test_an_active_writer_sends_the_first_load_down_the_upsert_path(
    pg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(await pg.migrated_database(SERVICE_DIR), tmp_path)
    calls: list[str] = []
    real = write_sql.insert_new
    monkeypatch.setattr(
        write_sql, "insert_new", lambda spec, p, r=(): calls.append(spec.name) or real(spec, p, r)
    )
    try:
        synthetic.generate("T24", h.folder / "T24", customers=3, loans=4, seed=2, entities=ENTITIES)
        async with h.db.unit_of_work() as other:  # an uncommitted writer holds ROW EXCLUSIVE on loan
            await other.execute(text("LOCK TABLE bank_sync.loan IN ROW EXCLUSIVE MODE"))
            job, _ = await h.sync()
        assert job["status"] == "COMPLETED" and job["entities_created"] == 7
        assert calls == ["customer"]  # loan could not be claimed without waiting
    finally:
        await h.db.dispose()


async def test_staging_in_the_sync_transaction_matches_staging_ahead(
    pg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ahead, _ = await _run(pg, tmp_path, "ahead", False, monkeypatch)
    real = SyncEngine.run

    async def inline(self: SyncEngine, conn: Any, connector: Any, req: Any, progress: Any = None, **_: Any):
        return await real(self, conn, connector, req, progress)  # no staging connection

    monkeypatch.setattr(SyncEngine, "run", inline)
    inline_state, _ = await _run(pg, tmp_path, "inline", False, monkeypatch)
    assert inline_state == ahead


async def _indexes(h: Harness) -> list[dict[str, Any]]:
    """Index definitions and constraints (the primary keys are dropped and rebuilt too)."""
    indexes = await h.rows(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'bank_sync'"
        " AND tablename IN ('customer', 'loan') ORDER BY 1, 2"
    )
    constraints = await h.rows(
        "SELECT conrelid::regclass::text AS tablename, conname, pg_get_constraintdef(oid) AS def"
        " FROM pg_constraint WHERE conrelid IN ('bank_sync.customer'::regclass,"
        " 'bank_sync.loan'::regclass) ORDER BY 1, 2"
    )
    return indexes + constraints


async def test_first_load_rebuilds_the_indexes_it_deferred(pg, tmp_path: Path) -> None:
    h = Harness(await pg.migrated_database(SERVICE_DIR), tmp_path)
    try:
        before = await _indexes(h)
        assert {i.get("indexname") for i in before} >= {"ix_customer_id_number", "ix_loan_cif", "pk_loan"}
        assert {i.get("conname") for i in before} >= {"pk_customer", "pk_loan"}
        _extract(h.folder / "T24")
        job, _ = await h.sync()
        assert job["status"] == "COMPLETED"
        assert await _indexes(h) == before
        valid = await h.rows(
            "SELECT bool_and(indisvalid AND indisready) AS ok FROM pg_index"
            " WHERE indrelid = 'bank_sync.loan'::regclass"
        )
        assert valid == [{"ok": True}]
    finally:
        await h.db.dispose()


async def test_a_primary_key_that_a_foreign_key_references_is_kept(pg, tmp_path: Path) -> None:
    h = Harness(await pg.migrated_database(SERVICE_DIR), tmp_path)
    try:
        async with h.db.unit_of_work() as s:  # e.g. a reporting table of the bank's own
            await s.execute(
                text(
                    "CREATE TABLE public.loan_note (account_number varchar(32)"
                    " REFERENCES bank_sync.loan (account_number), note text)"
                )
            )
        before = await _indexes(h)
        _extract(h.folder / "T24")
        job, _ = await h.sync()
        assert job["status"] == "COMPLETED"
        assert await _indexes(h) == before  # the secondary indexes still deferred and rebuilt
    finally:
        await h.db.dispose()


async def test_a_reader_inside_the_empty_table_keeps_its_indexes_maintained(
    pg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(await pg.migrated_database(SERVICE_DIR), tmp_path, first_load_index_lock_timeout_ms=200)
    calls: list[str] = []
    real = write_sql.insert_new
    monkeypatch.setattr(
        write_sql, "insert_new", lambda spec, p, r=(): calls.append(spec.name) or real(spec, p, r)
    )
    try:
        before = await _indexes(h)
        synthetic.generate("T24", h.folder / "T24", customers=3, loans=4, seed=2, entities=ENTITIES)
        async with h.db.unit_of_work() as reader:  # an open read transaction holds ACCESS SHARE
            await reader.execute(text("SELECT count(*) FROM bank_sync.loan"))
            job, _ = await h.sync()
        assert job["status"] == "COMPLETED" and job["entities_created"] == 7
        assert calls == ["customer", "loan"]  # still the plain INSERT, with the indexes kept
        assert await _indexes(h) == before
    finally:
        await h.db.dispose()


@pytest.mark.parametrize("seeded", [False, True], ids=["first-load", "upsert"])
async def test_an_extract_validated_in_parts_loads_as_in_one(
    pg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeded: bool
) -> None:
    whole, _ = await _run(pg, tmp_path, "whole", seeded, monkeypatch)
    monkeypatch.setattr(pipeline, "PART_ROWS", 3)  # 8 customers, 16 staged loans: 3 and 6 parts
    parts, calls = await _run(pg, tmp_path, "parts", seeded, monkeypatch)
    assert parts == whole
    assert calls == (0 if seeded else 3 + 6)
