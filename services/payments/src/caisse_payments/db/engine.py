"""The payments Database: the shared one, but a pooled connection is pinged only after idling.

The shared engine sets ``pool_pre_ping=True``; with asyncpg SQLAlchemy's ping is BEGIN + ``;`` +
ROLLBACK, i.e. three round trips on every checkout, as many as the whole webhook intake
(BEGIN, one statement, COMMIT). A connection that was in use a moment ago is alive; one that
has idled (the window in which a database restart or an idle timeout would have killed it) is
pinged at checkout exactly as pre-ping would, and replaced if dead (``DisconnectionError`` makes
the pool retry with a fresh connection: SQLAlchemy's documented pessimistic-disconnect recipe).
A connection killed while busy fails its statement and SQLAlchemy invalidates the pool, as it
does with pre-ping.
"""

from __future__ import annotations

import time
from typing import Any

from caisse_shared.db import Database, async_url
from sqlalchemy import MetaData, event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_LAST_USED = "caisse_last_used"


def create_engine(url: str, *, pool_size: int, ping_idle_s: float) -> AsyncEngine:
    """Pool settings of the shared engine; ping at checkout only after ``ping_idle_s`` idle."""
    engine = create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False
    )
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    def touch(_dbapi: Any, record: Any, *_: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) < ping_idle_s:
            return
        try:
            dialect.do_ping(dbapi)
        except Exception as e:
            raise exc.DisconnectionError(f"idle connection failed its ping: {e}") from e
        record.info[_LAST_USED] = time.monotonic()

    event.listen(pool, "connect", touch)
    event.listen(pool, "checkin", touch)
    event.listen(pool, "checkout", checkout)
    return engine


class PaymentsDatabase(Database):
    """:class:`caisse_shared.db.Database` with the idle-ping engine."""

    def __init__(self, url: str, metadata: MetaData, *, pool_size: int, ping_idle_s: float) -> None:
        super().__init__(url, metadata, pool_size=pool_size)  # its engine never connected
        self.engine = create_engine(url, pool_size=pool_size, ping_idle_s=ping_idle_s)
        self.sessionmaker.configure(bind=self.engine)
