"""A sync whose process is SIGKILLed mid-load leaves nothing behind; the rerun gives the tables
and events of one clean run, and the killed job ends FAILED instead of RUNNING forever."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from caisse_bank_sync import synthetic
from caisse_bank_sync.db.models import Base
from caisse_bank_sync.domain.errors import SyncAlreadyRunning

from .helpers import SERVICE_DIR, Harness

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY_TABLES = ("customer", "phone", "address", "email", "loan", "collateral", "reference_customer")
# Bookkeeping that differs between runs by design (which job wrote a row, and when).
RUN_COLUMNS = {"created_at", "updated_at", "stale_since", "last_sync_job_id"}
# 30k rows over the seven extracts: a first load of a second or two on a 2-core runner, the
# kill lands while it writes the customers (the loans, events and checks still to come).
CUSTOMERS, LOANS = 5_000, 10_000
# Events with one row per loan: compared by a checksum of their Avro payloads (no job id in them).
PER_LOAN = ("banksync.LoanUpdated", "banksync.LoanDelinquencyChanged")


def _start_import(log: Path) -> subprocess.Popen[bytes]:
    """``caisse-bank-sync import`` in a process of its own (default settings), importing its
    stack while the test writes the extract; told what to sync by ``_go``; stderr to ``log``."""
    env = {**os.environ, "CAISSE_ENV": "test", "CAISSE_LOG_LEVEL": "WARNING"}
    with log.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("import_runner.py"))],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )


async def _go(proc: subprocess.Popen[bytes], url: str, folder: Path, log: Path) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    assert await asyncio.to_thread(proc.stdout.readline) == b"ready\n", log.read_text()
    proc.stdin.write(f"{url} {folder}\n".encode())
    proc.stdin.flush()


async def _wait_mid_load(h: Harness, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> Any:
    """The job's id once it is RUNNING and its transaction is writing the customers (it holds
    the row-exclusive lock of an INSERT on the table; a first load claims it with a stronger
    one before staging)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        rows = await h.rows(
            "SELECT id, status, EXISTS (SELECT FROM pg_locks WHERE granted AND mode = 'RowExclusiveLock'"
            " AND relation = 'bank_sync.customer'::regclass AND database = (SELECT oid FROM pg_database"
            " WHERE datname = current_database())) AS writing FROM bank_sync.sync_job"
        )
        if rows and rows[0]["status"] == "RUNNING" and rows[0]["writing"]:
            return rows[0]["id"]
        await asyncio.sleep(0.01)
    raise AssertionError(f"the sync never started writing: {rows}")


async def _rerun(h: Harness, timeout: float = 60) -> dict[str, Any]:
    """Sync again, as an operator would: a 409 while the killed sync's session is still open."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            job, _ = await h.sync()
            return job
        except SyncAlreadyRunning:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def _checksums(h: Harness) -> dict[str, tuple[int, str]]:
    """Row count and md5 of the rows (ordered by key, run bookkeeping left out) of each table."""
    out = {}
    for name in ENTITY_TABLES:
        table = Base.metadata.tables[f"bank_sync.{name}"]
        cols = ", ".join(c.name for c in table.columns if c.name not in RUN_COLUMNS)
        key = ", ".join(c.name for c in table.primary_key.columns)
        (row,) = await h.rows(
            f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {key}), ''))"
            f" AS sum FROM (SELECT {cols} FROM bank_sync.{name}) t"
        )
        out[name] = (row["n"], row["sum"])
    return out


async def _events(h: Harness) -> dict[str, Any]:
    """The outbox's events by type, job ids left out, in a canonical order: per-loan events
    as a count and checksum, entity updates as the keys created / updated / stale per entity
    (how they are cut in batches is not content), the job's outcome decoded."""
    out: dict[str, Any] = {}
    for event_type in PER_LOAN:
        (row,) = await h.rows(
            "SELECT count(*) AS n, md5(coalesce(string_agg("
            "concat_ws('|', topic, key, encode(payload, 'hex')), E'\\n' ORDER BY key, payload), '')) AS sum"
            " FROM bank_sync.outbox WHERE event_type = :t",
            t=event_type,
        )
        out[event_type] = (row["n"], row["sum"])
    keys: dict[tuple[str, str], list[str]] = {}
    for p in await h.outbox("banksync.EntityUpdated"):
        c, u, affected = p["created_count"], p["updated_count"], p["affected_records"]
        for kind, part in (
            ("created", affected[:c]),
            ("updated", affected[c : c + u]),
            ("stale", affected[c + u :]),
        ):
            keys.setdefault((p["entity_type"], kind), []).extend(part)
    out["banksync.EntityUpdated"] = sorted((k, sorted(v)) for k, v in keys.items())
    for event_type in ("banksync.SyncCompleted", "banksync.SyncFailed"):
        outcomes = [{k: v for k, v in p.items() if k != "sync_job_id"} for p in await h.outbox(event_type)]
        out[event_type] = sorted(outcomes, key=repr)
    return out


async def test_sync_killed_by_sigkill_mid_load_then_rerun_gives_the_same_tables(pg, tmp_path: Path) -> None:
    log = tmp_path / "import.log"
    proc = _start_import(log)
    folder = tmp_path / "T24"
    synthetic.generate("T24", folder, customers=CUSTOMERS, loans=LOANS, seed=3, delinquent_ratio=0.2)
    h = Harness(await pg.migrated_database(SERVICE_DIR), tmp_path)
    clean = Harness(await pg.migrated_database(SERVICE_DIR), tmp_path)
    try:
        await _go(proc, h.settings.database_url, folder, log)
        killed = await _wait_mid_load(h, proc, log)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
        (job,) = await h.rows("SELECT status FROM bank_sync.sync_job")
        assert job["status"] == "RUNNING"  # killed before it could end the job either way
        rerun = await _rerun(h)
        assert rerun["status"] == "COMPLETED", rerun
        dead = await h.rows("SELECT * FROM bank_sync.sync_job WHERE id = :i", i=killed)
        assert (dead[0]["status"], dead[0]["error_message"]) == ("FAILED", "abandoned (worker stopped)")
        assert dead[0]["finished_at"] is not None
        staging = await h.rows("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bank\\_sync\\_stg\\_%'")
        assert staging == []
        clean_job, _ = await clean.sync()
        assert clean_job["status"] == "COMPLETED"
        assert {k: rerun[k] for k in rerun if k.startswith("entities_")} == {
            k: clean_job[k] for k in clean_job if k.startswith("entities_")
        }
        assert await _checksums(h) == await _checksums(clean)
        assert (await _checksums(h))["loan"][0] == LOANS
        crashed_events, clean_events = await _events(h), await _events(clean)
        abandoned = {
            "key": "T24",
            "source_system": "T24",
            "mode": "FULL",
            "error": "abandoned (worker stopped)",
        }
        assert crashed_events.pop("banksync.SyncFailed") == [abandoned]  # the killed job's end
        assert clean_events.pop("banksync.SyncFailed") == []
        assert crashed_events == clean_events
        assert clean_events["banksync.LoanUpdated"][0] == LOANS  # the default: a snapshot per loan
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        await h.db.dispose()
        await clean.db.dispose()
