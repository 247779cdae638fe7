# ruff: noqa: S608  -- identifiers come from the entity specs and the catalogue; values are bound.
"""First load of an empty table: claim it against other writers, build its indexes last.

A plain INSERT into a table known to be empty skips conflict arbitration; building the
primary key and secondary indexes once the rows are in (a sort each, with parallel workers)
costs a fraction of maintaining them row by row (PK + 2 indexes: about 1.5x the heap insert).
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from caisse_bank_sync.config import SCHEMA

log = logging.getLogger("caisse.bank_sync.first_load")

# Index builds of a million-row table sort in memory rather than in temporary files.
BUILD_MEM = "256MB"  # maintenance_work_mem of the sync's transaction


async def claim_empty(conn: Any, table: str) -> bool:
    """Whether ``table`` (schema-qualified) is empty and stays without other writers until commit.

    SHARE ROW EXCLUSIVE lets readers through but no other writer, so a plain INSERT cannot
    meet a concurrent key. NOWAIT: with a writer active, the ON CONFLICT path is taken
    instead (waiting could deadlock two first loads of different sources).
    """
    if await conn.fetchval(f"SELECT EXISTS (SELECT FROM {table})"):
        return False
    try:
        await conn.execute(f"SAVEPOINT claim; LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE NOWAIT")
    except asyncpg.LockNotAvailableError:
        await conn.execute("ROLLBACK TO SAVEPOINT claim; RELEASE SAVEPOINT claim")
        return False
    await conn.execute("RELEASE SAVEPOINT claim")
    # Re-read under the lock: rows committed since the first look now show.
    return not await conn.fetchval(f"SELECT EXISTS (SELECT FROM {table})")


async def defer_indexes(conn: Any, entity: str, lock_timeout_ms: int) -> tuple[str, ...]:
    """Drop the primary key and secondary indexes of a claimed empty table; returns the
    statements (same names and definitions) that rebuild them, none when kept.

    Building the primary key once the rows are in costs about a third of maintaining it row
    by row; the extract's duplicate keys are quarantined before any row is written, so the
    build cannot meet one (if it did, the sync would fail and roll back whole).
    Dropping takes ACCESS EXCLUSIVE: readers of the (still empty) table then wait for the
    sync's commit instead of reading nothing. A reader already inside the table holds the
    drop back; after ``lock_timeout_ms`` the indexes are kept and maintained row by row.
    """
    table = f"{SCHEMA}.{entity}"
    # Kept: a primary key that a foreign key references (it cannot be dropped), or that is the
    # table's replica identity by name (a rebuilt one would no longer be).
    pks = await conn.fetch(
        "SELECT quote_ident(conname) AS name, pg_get_constraintdef(oid) AS ddl FROM pg_constraint k"
        " WHERE conrelid = $1::regclass AND contype = 'p' AND NOT EXISTS (SELECT FROM pg_constraint f"
        " WHERE f.contype = 'f' AND f.confrelid = k.conrelid)"
        " AND (SELECT relreplident FROM pg_class WHERE oid = k.conrelid) = 'd'",
        table,
    )
    rows = await conn.fetch(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name,"
        " pg_get_indexdef(i.indexrelid) AS ddl FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE i.indrelid = $1::regclass AND NOT i.indisunique ORDER BY c.relname",
        table,
    )
    drops = [f"ALTER TABLE {table} DROP CONSTRAINT {pk['name']}" for pk in pks]
    if rows:
        drops.append(f"DROP INDEX {', '.join(r['name'] for r in rows)}")
    if not drops:
        return ()
    try:
        await conn.execute(
            f"SAVEPOINT defer; SET LOCAL lock_timeout = {int(lock_timeout_ms)}; {'; '.join(drops)}"
        )
    except asyncpg.LockNotAvailableError:
        await conn.execute("ROLLBACK TO SAVEPOINT defer; RELEASE SAVEPOINT defer")
        log.warning("first load of %s keeps its indexes: a reader is inside the table", table)
        return ()
    await conn.execute("RELEASE SAVEPOINT defer; SET LOCAL lock_timeout TO DEFAULT")
    log.info("first load of %s: %d key and %d indexes rebuilt before commit", table, len(pks), len(rows))
    rebuild_pk = [f"ALTER TABLE {table} ADD CONSTRAINT {pk['name']} {pk['ddl']}" for pk in pks]
    return (*rebuild_pk, *(r["ddl"] for r in rows))
