"""Sync engine on the real database: first load, reloads, stale marking, events in the outbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from caisse_bank_sync import synthetic
from caisse_bank_sync.domain.entities import SyncMode

from .helpers import SERVICE_DIR, Harness

CUSTOMERS, LOANS = 40, 60


@pytest.fixture
async def h(pg, tmp_path: Path) -> Harness:
    url = await pg.migrated_database(SERVICE_DIR)
    harness = Harness(url, tmp_path)
    yield harness
    await harness.db.dispose()


def _gen(h: Harness, **kw) -> None:
    synthetic.generate(
        "T24", h.folder / "T24", customers=CUSTOMERS, loans=LOANS, seed=3, delinquent_ratio=0.2, **kw
    )


async def test_first_load_creates_everything_and_announces_it(h: Harness) -> None:
    _gen(h)
    job, result = await h.sync()
    assert job["status"] == "COMPLETED"
    assert result is not None and result.integrity_errors == 0
    assert job["entities_created"] == job["entities_processed"] > 0
    assert job["errors"] == 0
    loans = await h.table("loan")
    assert len(loans) == LOANS
    first = synthetic.loan_row(0, CUSTOMERS, seed=3, delinquent_ratio=0.2)
    stored = next(r for r in loans if r["account_number"] == first["account_number"])
    assert stored["outstanding_principal"] == int(first["outstanding_principal"])
    assert stored["source_system"] == "T24" and stored["is_stale"] is False
    updates = await h.outbox("banksync.EntityUpdated")
    loan_keys = [k for e in updates if e["entity_type"] == "loan" for k in e["affected_records"]]
    assert sorted(loan_keys) == sorted(r["account_number"] for r in loans)
    assert {e["key"] for e in updates} >= {"customer", "loan", "phone"}
    snapshots = await h.outbox("banksync.LoanUpdated")
    assert len(snapshots) == LOANS
    delinquent = {r["account_number"] for r in loans if r["days_past_due"] > 0}
    changes = await h.outbox("banksync.LoanDelinquencyChanged")
    assert delinquent and {c["account_number"] for c in changes} == delinquent
    assert all(c["previous_bucket"] is None and c["current_bucket"] != "CURRENT" for c in changes)
    completed = await h.outbox("banksync.SyncCompleted")
    assert completed[-1]["entities_created"] == job["entities_created"]


async def test_unchanged_reload_updates_nothing_and_announces_nothing(h: Harness) -> None:
    _gen(h)
    await h.sync()
    before = await h.table("loan")
    outbox_before = await h.rows("SELECT count(*) AS n FROM bank_sync.outbox")
    job, _ = await h.sync()
    assert job["status"] == "COMPLETED"
    assert (job["entities_created"], job["entities_updated"]) == (0, 0)
    assert job["entities_unchanged"] == job["entities_processed"]
    assert await h.table("loan") == before
    new = await h.rows(
        "SELECT event_type FROM bank_sync.outbox ORDER BY id OFFSET :n", n=outbox_before[0]["n"]
    )
    assert [r["event_type"] for r in new] == ["banksync.SyncCompleted"]


async def test_reload_with_changes_updates_and_announces_only_changed_rows(h: Harness) -> None:
    _gen(h)
    await h.sync()
    old = {r["account_number"]: r for r in await h.table("loan")}
    n_before = (await h.rows("SELECT max(id) AS m FROM bank_sync.outbox"))[0]["m"]
    _gen(h, change_ratio=0.25)
    job, _ = await h.sync()
    new = {r["account_number"]: r for r in await h.table("loan")}
    changed = {k for k in new if new[k] != old[k]}
    assert changed and len(changed) < LOANS
    loan_detail = next(e for e in job["details"]["entities"] if e["entity"] == "loan")
    assert loan_detail["updated"] == len(changed) and loan_detail["created"] == 0
    rows = await h.rows("SELECT event_type, key FROM bank_sync.outbox WHERE id > :m", m=n_before)
    snap_keys = {r["key"] for r in rows if r["event_type"] == "banksync.LoanUpdated"}
    assert snap_keys == changed
    crossed = {
        k
        for k in changed
        if h.runner.engine.config.buckets.index(old[k]["days_past_due"])
        != h.runner.engine.config.buckets.index(new[k]["days_past_due"])
    }
    delinq = {r["key"] for r in rows if r["event_type"] == "banksync.LoanDelinquencyChanged"}
    assert delinq == crossed


async def test_full_sync_marks_missing_records_stale_and_revives_them(h: Harness) -> None:
    _gen(h)
    await h.sync()
    synthetic.generate(
        "T24",
        h.folder / "T24",
        customers=CUSTOMERS,
        loans=LOANS - 5,
        seed=3,
        delinquent_ratio=0.2,
        entities=["loan"],
    )
    job, _ = await h.sync(entity="loan")
    assert job["entities_stale"] == 5
    stale = await h.rows("SELECT account_number FROM bank_sync.loan WHERE is_stale")
    assert len(stale) == 5 and len(await h.table("loan")) == LOANS  # flagged, not deleted
    snaps = await h.outbox("banksync.LoanUpdated")
    assert sum(1 for s in snaps if s["is_stale"]) == 5
    incr, _ = await h.sync(entity="loan", mode=SyncMode.INCREMENTAL)
    assert incr["entities_stale"] == 0
    _gen(h)
    job, _ = await h.sync(entity="loan")
    assert job["entities_updated"] == 5
    assert not await h.rows("SELECT 1 FROM bank_sync.loan WHERE is_stale")


async def test_w4_jsonl_and_los_csv_layouts_load(h: Harness) -> None:
    for source in ("W4", "LOS"):
        synthetic.generate(source, h.folder / source, customers=10, loans=12, seed=5)
        job, _ = await h.sync(source)
        assert job["status"] == "COMPLETED" and job["errors"] == 0, job
    counts = await h.rows("SELECT source_system, count(*) AS n FROM bank_sync.customer GROUP BY 1 ORDER BY 1")
    # Same synthetic CIFs: the later source took ownership of the natural keys.
    assert counts == [{"source_system": "LOS", "n": 10}]


async def test_text_only_changes_count_as_unchanged_and_refresh_the_row_hash(h: Harness) -> None:
    _gen(h)
    await h.sync()
    path = h.folder / "T24" / "CUSTOMER.csv"
    hashes = await h.rows("SELECT cif, row_hash FROM bank_sync.customer ORDER BY cif")
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",RETAIL,", ", RETAIL ,").replace(",SME,", ", SME ,")
    lines[1] = lines[1].replace(",MICRO,", ", MICRO ,")
    path.write_text("".join(lines))
    job, _ = await h.sync(entity="customer")
    assert (job["entities_updated"], job["entities_unchanged"]) == (0, CUSTOMERS)
    after = await h.rows("SELECT cif, row_hash FROM bank_sync.customer ORDER BY cif")
    assert [a["cif"] for a, b in zip(after, hashes, strict=True) if a["row_hash"] != b["row_hash"]] == [
        synthetic.cif(0)
    ]
    again, _ = await h.sync(entity="customer")
    assert again["entities_unchanged"] == CUSTOMERS


async def test_blanks_around_values_are_trimmed_on_a_first_load_and_reload_unchanged(h: Harness) -> None:
    _gen(h)
    path = h.folder / "T24" / "CUSTOMER.csv"
    lines = path.read_text().splitlines(keepends=True)
    cif = lines[1].split(",")[0]
    fields = lines[1].rstrip("\n").split(",")
    lines[1] = ",".join(f" {v} " if i in (1, 2) else v for i, v in enumerate(fields)) + " \n"
    path.write_text("".join(lines))
    job, _ = await h.sync(entity="customer")
    assert (job["entities_created"], job["errors"]) == (CUSTOMERS, 0), job
    sql = f"SELECT customer_type, full_name, agency_id FROM bank_sync.customer WHERE cif = '{cif}'"
    row = (await h.rows(sql))[0]
    assert row == {"customer_type": fields[1], "full_name": fields[2], "agency_id": fields[-1]}
    again, _ = await h.sync(entity="customer")
    assert (again["entities_updated"], again["entities_unchanged"]) == (0, CUSTOMERS)
