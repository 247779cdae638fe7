"""The idle-ping engine: busy connections are not pinged; an idle dead one is replaced unseen."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from caisse_shared.db import create_engine
from sqlalchemy import text

pytestmark = pytest.mark.integration


@pytest.fixture
async def db_url(pg: Any) -> str:
    """A fresh empty database."""
    url: str = await pg.create_database("engine")
    return url


def _count_pings(engine: Any) -> list[int]:
    pings = [0]
    dialect = engine.sync_engine.dialect
    original = dialect.do_ping

    def counting(dbapi: Any) -> bool:
        pings[0] += 1
        return bool(original(dbapi))

    dialect.do_ping = counting
    return pings


async def _backend_pid(engine: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_busy_connection_is_not_pinged(db_url: str) -> None:
    engine = create_engine(db_url, pool_size=1, ping_idle_s=60)
    pings = _count_pings(engine)
    try:
        pids = {await _backend_pid(engine) for _ in range(20)}
        assert len(pids) == 1  # one pooled connection, reused
        assert pings[0] == 0
    finally:
        await engine.dispose()


async def test_idle_connection_is_pinged_and_a_dead_one_replaced(db_url: str) -> None:
    engine = create_engine(db_url, pool_size=1, ping_idle_s=0.2)
    pings = _count_pings(engine)
    killer = create_engine(db_url, pool_size=1, ping_idle_s=60)
    try:
        first = await _backend_pid(engine)
        async with killer.connect() as conn:
            assert (await conn.execute(text(f"SELECT pg_terminate_backend({first})"))).scalar_one()
        await asyncio.sleep(0.3)
        second = await _backend_pid(engine)  # no error: the ping found it dead, pool reconnected
        assert second != first
        assert pings[0] == 1
        await asyncio.sleep(0.3)
        assert await _backend_pid(engine) == second  # idle again: pinged, alive, kept
        assert pings[0] == 2
    finally:
        await engine.dispose()
        await killer.dispose()
