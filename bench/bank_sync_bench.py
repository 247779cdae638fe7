"""bank-sync bulk path: 1M loans + 500k customers (``--scale=0.1`` for a quick run).

Prints rows/s of a first load, an unchanged reload and a reload with 10 % changed rows, each
with its ratio to a raw COPY of the same files into empty tables in the same run (median of
three, on a server whose WAL is already warm). The headline lines run the service's default
settings (one ``banksync.loan.updated`` snapshot per created or changed loan); the same three
syncs with loan snapshots off follow as extra lines, on a second database of the same server.
A sync that fails or reports any error aborts the benchmark.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path

from caisse_bank_sync import synthetic
from caisse_bank_sync.config import Settings, SourceConfig
from caisse_bank_sync.db.models import Base
from caisse_bank_sync.domain.entities import SyncMode
from caisse_bank_sync.domain.layouts import layout
from caisse_bank_sync.services import jobs
from caisse_bank_sync.services.runner import SyncRunner
from caisse_bank_sync.sources.files import FileConnector
from caisse_shared.db import Database
from caisse_shared.infra import EmbeddedPostgres
from caisse_shared.migrations import upgrade_async
from sqlalchemy import text

from bench._common import RunAborted
from bench.bank_sync_floor import first_load_floor, print_floor, reload_floor

SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "bank-sync"
ENTITIES = ["customer", "loan"]


def _scale(argv: list[str]) -> float:
    for a in argv:
        if a.startswith("--scale="):
            return float(a.split("=", 1)[1])
    return 1.0


async def _checkpoint(db: Database) -> None:
    """Start each measured step from the same state: the previous step's pages on disk."""
    async with db.engine.connect() as c:
        await c.execute(text("CHECKPOINT"))


async def _sync(db: Database, settings: Settings, folder: Path) -> tuple[float, dict]:
    """One timed sync; the job row, with the outbox rows it wrote by event type."""
    await _checkpoint(db)
    runner = SyncRunner(db, settings)
    async with db.unit_of_work() as s:
        outbox_before = await s.scalar(text("SELECT coalesce(max(id), 0) FROM bank_sync.outbox"))
        job = await jobs.create_job(
            s,
            source="T24",
            mode=SyncMode.FULL,
            entity_type=None,
            sources={"T24"},
            requested_by="bench",
        )
    started = time.perf_counter()
    result = await runner.execute(job["id"], FileConnector("T24", folder))
    elapsed = time.perf_counter() - started
    async with db.unit_of_work() as s:
        done = await jobs.get_job(s, job["id"])
        events = await s.execute(
            text("SELECT event_type, count(*) FROM bank_sync.outbox WHERE id > :i GROUP BY 1 ORDER BY 1"),
            {"i": outbox_before},
        )
        done["events"] = {t.removeprefix("banksync."): int(n) for t, n in events}
    if result is None or done["status"] != "COMPLETED" or done["errors"]:
        raise RunAborted(
            f"sync {done['status']} with {done['errors']} errors: {done['error_message'] or done['details']}"
        )
    return elapsed, done


async def _raw_copy(db: Database, folder: Path, *, logged: bool) -> float:
    """COPY the same CSV files into empty text tables (the ceiling for any loader); the
    tables are dropped after timing.

    The ratio baseline is an ordinary (WAL-logged) table, like the service's own tables; the
    UNLOGGED figure is printed for reference only (it skips the WAL a bank cannot skip).
    """
    await _checkpoint(db)
    tables = [f"raw_{entity}_{uuid.uuid4().hex[:6]}" for entity in ENTITIES]
    started = time.perf_counter()
    async with db.unit_of_work() as s:
        conn = (await (await s.connection()).get_raw_connection()).driver_connection
        for entity, table in zip(ENTITIES, tables, strict=True):
            path = folder / layout("T24", entity).file_name
            header = path.open().readline().strip().split(",")
            cols = ", ".join(f'"c{i}" text' for i in range(len(header)))
            kind = "TABLE" if logged else "UNLOGGED TABLE"
            await conn.execute(f"CREATE {kind} public.{table} ({cols})")
            await conn.copy_to_table(table, source=str(path), schema_name="public", format="csv", header=True)
    elapsed = time.perf_counter() - started
    async with db.unit_of_work() as s:
        await s.execute(text("DROP TABLE " + ", ".join(f"public.{t}" for t in tables)))
    return elapsed


async def _baseline(db: Database, folder: Path) -> float:
    """Median of three WAL-logged raw COPYs, after one unmeasured.

    A fresh cluster creates (and zero-fills) each WAL segment the first time it writes it; a
    running server recycles them. Timed first, the baseline paid that one-off cost (2.8 to
    3.1 s instead of 1.4 to 2.0) and ratios to it read up to half higher. A single run still
    varies by a third, hence the median.
    """
    cold = await _raw_copy(db, folder, logged=True)
    runs = sorted([await _raw_copy(db, folder, logged=True) for _ in range(3)])
    print(f"raw COPY runs: {', '.join(f'{r:.2f}s' for r in runs)} (first, unmeasured: {cold:.2f}s)")
    return runs[1]


def _line(name: str, rows: int, secs: float, raw_rate: float, job: dict | None = None) -> str:
    rate = rows / secs
    extra = ""
    if job:
        extra = (
            f"  created={job['entities_created']:,} updated={job['entities_updated']:,}"
            f" unchanged={job['entities_unchanged']:,}"
        )
    line = f"{name:44} {rows:>10,} rows {secs:7.2f}s {rate:>11,.0f} rows/s"
    line += f"  ratio to raw COPY {rate / raw_rate:.2f}"
    print(line + extra, flush=True)
    if job:
        print("    events: " + ", ".join(f"{t} {n:,}" for t, n in job["events"].items()), flush=True)
    return line


async def _database(pg: EmbeddedPostgres, name: str) -> tuple[str, Database]:
    """A migrated database of the bench server."""
    pg.psql(f"CREATE DATABASE {name}")
    url = pg.url_for(name)
    await upgrade_async(SERVICE_DIR, url)
    return url, Database(url, Base.metadata)


async def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    scale = _scale(argv or [])
    customers, loans = int(500_000 * scale), int(1_000_000 * scale)
    rows = customers + loans
    tmp = Path(tempfile.mkdtemp(prefix="bank-sync-bench-"))
    pg = EmbeddedPostgres(tmp / "pg", cleanup=True)
    try:
        url, db = await _database(pg, "bench")
        off_url, off_db = await _database(pg, "bench_snapshots_off")
        folder = tmp / "T24"
        t0 = time.perf_counter()
        synthetic.generate("T24", folder, customers=customers, loans=loans, seed=1, entities=ENTITIES)
        print(f"generated {rows:,} rows in {time.perf_counter() - t0:.1f}s (scale {scale})")
        source = {"T24": SourceConfig(path=folder)}
        default = Settings(database_url=url, sources=source, log_json=False)
        off = Settings(database_url=off_url, sources=source, log_json=False, publish_loan_snapshots=False)
        if not default.publish_loan_snapshots:  # the headline measures what the service runs
            raise RunAborted("the service's default no longer publishes loan snapshots: relabel the lines")
        raw_secs = await _baseline(db, folder)
        unlogged_secs = await _raw_copy(db, folder, logged=False)
        raw_rate = rows / raw_secs
        _line("raw COPY into an empty UNLOGGED table (reference)", rows, unlogged_secs, raw_rate)
        _line("raw COPY into an empty table (baseline, median)", rows, raw_secs, raw_rate)
        print_floor("first load", await first_load_floor(db, folder, ENTITIES), raw_secs)
        head, extra = (default, db), (off, off_db)
        await _step("first load", *head, folder, rows, raw_rate)
        await _step("reload unchanged", *head, folder, rows, raw_rate)
        await _step("extra, snapshots off: first load", *extra, folder, rows, raw_rate)
        await _step("extra, snapshots off: reload unchanged", *extra, folder, rows, raw_rate)
        synthetic.generate(
            "T24",
            folder,
            customers=customers,
            loans=loans,
            seed=1,
            change_ratio=0.1,
            entities=ENTITIES,
        )
        await _step("reload 10% changed", *head, folder, rows, raw_rate)
        await _step("extra, snapshots off: reload 10% changed", *extra, folder, rows, raw_rate)
        # The tables now hold the changed extract, so the original one differs from them in the
        # same 10 %.
        synthetic.generate("T24", folder, customers=customers, loans=loans, seed=1, entities=ENTITIES)
        print_floor("reload 10% changed", await reload_floor(db, folder, ENTITIES), raw_secs)
        _summary()
        await db.dispose()
        await off_db.dispose()
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # data + extracts: up to GBs per run


SUMMARY: list[str] = []


async def _step(
    name: str, settings: Settings, db: Database, folder: Path, rows: int, raw_rate: float
) -> None:
    """One timed sync and its line (kept for the summary)."""
    secs, job = await _sync(db, settings, folder)
    SUMMARY.append(_line(name, rows, secs, raw_rate, job))


def _summary() -> None:
    """The sync lines again: headline (the service's defaults) first, then the extra ones."""
    print("headline, the service's default settings (loan snapshots on):")
    for line in (x for x in SUMMARY if not x.startswith("extra")):
        print("  " + line)
    print("extra, for comparison only: loan snapshots off (not the default), on a second database:")
    for line in (x for x in SUMMARY if x.startswith("extra")):
        print("  " + line)
