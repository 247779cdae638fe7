"""Async SQLAlchemy engine and unit-of-work sessions bound to one service schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, text
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


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False, **kw: Any) -> AsyncEngine:
    """Create the async engine (asyncpg) with sane pool defaults."""
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        echo=echo,
        **kw,
    )


class Database:
    """One engine and session factory for one service schema."""

    def __init__(self, url: str, metadata: MetaData, *, pool_size: int = 10) -> None:
        self.metadata = metadata
        self.schema = metadata.schema or "public"
        self.engine = create_engine(url, pool_size=pool_size)
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
