"""The asyncpg driver of pooled connections, kept checked out between webhooks (LIFO).

Checking a connection out of SQLAlchemy's pool and back in cost ~60-100 us of CPU per webhook
(connection fairy, pool events, two greenlet switches), as much as the statement's own driver
work. Up to half the pool's size of idle connections wait here instead; the rest go back. They
stay the engine's connections (same connect-time setup, same limit), and are closed when the
engine is disposed.

``limit_in_flight`` caps the intake statements one worker runs at once; the others wait their
turn in the worker. 32 concurrent inserts on 2 cores convoyed on PostgreSQL's hot index pages
(a backend descheduled while holding a page lock): p99 61-75 ms unlimited, 37-51 ms at 4-8,
same load (bench payments, four runs each).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

# As the engine's own idle-only ping (caisse_shared.db): a connection used this recently is alive.
PING_AFTER_S = 5.0


class _Kept:
    """One engine's idle driver connections, newest last."""

    def __init__(self, sync_engine: Engine) -> None:
        size = getattr(sync_engine.pool, "size", lambda: 2)()
        self.keep = max(1, int(size) // 2)
        self.idle: list[tuple[Any, float]] = []
        self.gate: asyncio.Semaphore | None = None
        event.listen(sync_engine, "engine_disposed", self._close_all)

    def _close_all(self, _engine: Engine) -> None:
        """On dispose (inside its greenlet): close what is kept, as the pool closes its own."""
        idle, self.idle = self.idle, []
        for pooled, _ in idle:
            pooled.invalidate()

    async def take(self, engine: AsyncEngine) -> Any:
        """A kept connection (pinged if it idled), else one checked out of the pool."""
        while self.idle:
            pooled, since = self.idle.pop()
            try:
                if time.monotonic() - since >= PING_AFTER_S:
                    await pooled.driver_connection.execute("SELECT 1")
                if not pooled.driver_connection.is_closed():
                    return pooled
            except Exception:  # noqa: S110 (dead: dropped below, the next one is tried)
                pass
            await greenlet_spawn(pooled.invalidate)
        return await engine.raw_connection()

    async def give_back(self, pooled: Any) -> None:
        """Keep it for the next webhook, or return it to the pool when enough are kept."""
        if len(self.idle) < self.keep:
            self.idle.append((pooled, time.monotonic()))
        else:
            await greenlet_spawn(pooled.close)


_KEPT: weakref.WeakKeyDictionary[Engine, _Kept] = weakref.WeakKeyDictionary()


def _kept(engine: AsyncEngine) -> _Kept:
    kept = _KEPT.get(engine.sync_engine)
    if kept is None:
        kept = _KEPT[engine.sync_engine] = _Kept(engine.sync_engine)
    return kept


def limit_in_flight(engine: AsyncEngine, limit: int | None) -> None:
    """At most ``limit`` driver connections of this engine in use at once (None: no limit)."""
    _kept(engine).gate = asyncio.Semaphore(limit) if limit else None


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """A pooled connection's asyncpg driver, outside any transaction (each statement commits).

    A server-side error leaves the connection usable; a lost connection or a statement cut off
    by cancellation leaves it in an unknown state, so it is closed and dropped from the pool.
    """
    kept = _kept(engine)
    if kept.gate is None:
        async with _checked_out(kept, engine) as driver:
            yield driver
        return
    async with kept.gate, _checked_out(kept, engine) as driver:
        yield driver


@asynccontextmanager
async def _checked_out(kept: _Kept, engine: AsyncEngine) -> AsyncIterator[Any]:
    pooled = await kept.take(engine)
    driver: Any = pooled.driver_connection
    try:
        yield driver
    except BaseException as exc:
        if driver.is_closed() or not isinstance(exc, Exception):
            await greenlet_spawn(pooled.invalidate)
            raise
        await kept.give_back(pooled)
        raise
    await kept.give_back(pooled)
