"""Async SQLAlchemy engine and unit-of-work sessions bound to one service schema."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, event, exc, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Deterministic constraint names, so Alembic autogenerate and hand-written migrations agree.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata(schema: str) -> MetaData:
    """MetaData for one service's schema with the shared naming convention."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> str:
    """Normalise a PostgreSQL URL to the asyncpg driver."""
    for prefix in (
        "postgresql+asyncpg://",
        "postgresql+psycopg://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


_LAST_USED = "caisse_last_used"


def create_engine(
    url: str, *, pool_size: int = 10, ping_idle_s: float = 5.0, echo: bool = False, **kw: Any
) -> AsyncEngine:
    """Async engine (asyncpg); a pooled connection is pinged at checkout only after idling.

    ``pool_pre_ping`` costs BEGIN + ``;`` + ROLLBACK on every checkout with asyncpg, as many
    round trips as a whole small request. A connection used a moment ago is alive; one that
    idled past ``ping_idle_s`` (when a restart or an idle timeout could have killed it) is pinged
    and, if dead, replaced (SQLAlchemy's pessimistic-disconnect recipe: DisconnectionError makes
    the pool retry with a fresh connection).
    """
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        echo=echo,
        **kw,
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


class Database:
    """One engine and session factory for one service schema."""

    def __init__(
        self, url: str, metadata: MetaData, *, pool_size: int = 10, ping_idle_s: float = 5.0
    ) -> None:
        self.metadata = metadata
        self.schema = metadata.schema or "public"
        self.engine = create_engine(url, pool_size=pool_size, ping_idle_s=ping_idle_s)
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=True, info={"metadata": metadata}
        )

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed once on success, rolled back on any error."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def session_dependency(self) -> AsyncIterator[AsyncSession]:
        """FastAPI dependency: the request's unit of work (commit happens before the response)."""
        async with self.unit_of_work() as session:
            yield session

    async def ping(self) -> None:
        """Raise if the database cannot answer."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def session_metadata(session: AsyncSession) -> MetaData:
    """The service MetaData a session was created for (set by :class:`Database`)."""
    md = session.info.get("metadata")
    if md is None:
        bind_info = getattr(session.sync_session, "info", {})
        md = bind_info.get("metadata")
    if not isinstance(md, MetaData):
        raise RuntimeError("session was not created by caisse_shared.db.Database")
    return md
