"""CPU floor of a bank-sync first load and reload, for the ratio figures of ``bank_sync_bench``.

A sync in the design the issue prescribes (the extract COPYed into a staging table, its
duplicate keys searched, validated and typed there by set-based SQL, written by INSERT, or by
``INSERT … ON CONFLICT … DO UPDATE`` on a reload, a first load's keys and indexes built last,
the references of the rows written checked) runs these statements whatever else it does.
Each runs here once, one after the other, on one backend with parallel workers off, with the
service's own SQL, and its CPU is read from ``/proc`` (the embedded server is local). Their
sum is a lower bound of the sync's PostgreSQL CPU: the events, the bookkeeping (stale marking,
counts, quarantine) and the service's own CPU all come on top. Everything is rolled back.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from caisse_bank_sync.config import SCHEMA
from caisse_bank_sync.db import bulk_sql as q
from caisse_bank_sync.db import write_sql as w
from caisse_bank_sync.domain.entities import ENTITIES
from caisse_bank_sync.services.first_load import BUILD_MEM, defer_indexes
from caisse_bank_sync.services.pipeline import WORK_MEM
from caisse_bank_sync.services.staging import RawStager
from caisse_bank_sync.sources.files import FileConnector
from caisse_shared.db import Database

SCRATCH_SCHEMA = "bench_floor"


def _backend_cpu(pid: int) -> float:
    """User + system CPU seconds of one server process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # clock ticks (USER_HZ, 100 on Linux)


class _Meter:
    """Runs statements on one connection and adds up their backend CPU per step."""

    def __init__(self, conn: Any, pid: int) -> None:
        self.conn, self.pid = conn, pid
        self.steps: dict[str, float] = {}
        self.job_id = uuid.uuid4()  # of the rows written, as a sync's

    @asynccontextmanager
    async def measured(self, step: str) -> AsyncIterator[None]:
        """Add the backend CPU of what runs inside to ``step``."""
        before = _backend_cpu(self.pid)
        yield
        self.steps[step] = self.steps.get(step, 0.0) + _backend_cpu(self.pid) - before

    async def run(self, step: str, sql: str, *args: Any) -> None:
        async with self.measured(step):
            await self.conn.execute(sql, *args)

    async def stage_raw(self, step: str, folder: Path, entity: str) -> None:
        async with self.measured(step):
            await RawStager(self.conn, ENTITIES[entity]).stage(FileConnector("T24", folder).open(entity))


@asynccontextmanager
async def _scratch(db: Database) -> AsyncIterator[_Meter]:
    """A meter on one connection inside a transaction that is rolled back: scratch schema
    first in the search path, the sync's memory settings, parallel workers off."""
    async with db.engine.connect() as c:
        conn = (await c.get_raw_connection()).driver_connection
        assert conn is not None
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(
                f"CREATE SCHEMA {SCRATCH_SCHEMA};"
                f" SET LOCAL search_path TO {SCRATCH_SCHEMA}, {SCHEMA}, public;"
                f" SET LOCAL work_mem = '{WORK_MEM}'; SET LOCAL maintenance_work_mem = '{BUILD_MEM}';"
                " SET LOCAL max_parallel_workers_per_gather = 0;"
                " SET LOCAL max_parallel_maintenance_workers = 0"
            )
            yield _Meter(conn, await conn.fetchval("SELECT pg_backend_pid()"))
        finally:
            await tx.rollback()


async def first_load_floor(db: Database, folder: Path, entities: list[str]) -> dict[str, float]:
    """CPU seconds of each prescribed first-load step (see module docstring), by step name."""
    async with _scratch(db) as meter:
        for entity in entities:
            await _entity_floor(meter, folder, entity)
        await _integrity(meter, entities)
    return meter.steps


async def reload_floor(db: Database, folder: Path, entities: list[str]) -> dict[str, float]:
    """The same for a reload of loaded tables: raw COPY, duplicate keys, the rows whose hash
    differs from their record's, their validation and typing, the upsert, the integrity check."""
    async with _scratch(db) as meter:
        for entity in entities:
            spec = ENTITIES[entity]
            await meter.stage_raw(f"{entity}: raw COPY", folder, entity)
            await meter.run(f"{entity}: duplicate keys", q.duplicate_keys(spec))
            await meter.run(f"{entity}: changed rows", q.normalise(spec, 0, f"{SCHEMA}.{entity}"), "T24")
            await meter.run(f"{entity}: validate and type", q.validate_and_type(spec, 0))
            upsert = w.key_arrays(spec, w.upsert(spec, 0))
            await meter.run(f"{entity}: upsert", upsert, "T24", meter.job_id)
        await _integrity(meter, entities)
    return meter.steps


async def _integrity(meter: _Meter, entities: list[str]) -> None:
    """The referential-integrity check of the rows written (a scan, as the engine does when it
    wrote more than 1 row in 20)."""
    for entity in entities:
        for i, (sql, _) in enumerate(w.dangling_references(ENTITIES[entity], meter.job_id)):
            await meter.run("integrity check", f"CREATE UNLOGGED TABLE dangling_{entity}_{i} AS {sql}")


async def _entity_floor(meter: _Meter, folder: Path, entity: str) -> None:
    """One entity's first-load steps, its table's keys and indexes dropped and rebuilt."""
    spec = ENTITIES[entity]
    await meter.stage_raw(f"{entity}: raw COPY", folder, entity)
    await meter.run(f"{entity}: duplicate keys", q.duplicate_keys(spec))
    await meter.conn.execute(q.create_stand_in(spec))
    rows = q.fenced(spec, (0, None), q.stand_in(spec))
    await meter.run(f"{entity}: validate and type", q.validate_and_type(spec, 0, rows), "T24")
    rebuild = await defer_indexes(meter.conn, entity, 2000)
    await meter.run(f"{entity}: INSERT", w.insert_new(spec, 0, None), "T24", meter.job_id)
    for ddl in rebuild:
        await meter.run(f"{entity}: key and index builds", ddl)


def print_floor(what: str, steps: dict[str, float], baseline_secs: float) -> None:
    """The steps, their sum, and the best ratio to raw COPY that sum allows on 2 cores."""
    total = sum(steps.values())
    print(f"{what} floor (PostgreSQL CPU of the prescribed steps, one backend, serial):")
    for step, secs in steps.items():
        print(f"  {step:34} {secs:5.2f} core-s")
    print(
        f"  total {total:.2f} core-s: at least {total / 2:.2f} s on 2 cores, so a ratio to raw COPY"
        f" of at most {baseline_secs / (total / 2):.2f} (before the events, the bookkeeping and"
        " the service's own CPU)",
        flush=True,
    )
