"""Alembic helpers: each service's migrations live in its own schema with its own version table."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from caisse_shared.db import async_url


def _do_run(connection: Connection, metadata: MetaData, schema: str) -> None:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema,
        version_table="alembic_version",
        include_schemas=False,
        compare_type=True,
        include_name=lambda name, type_, parent: type_ != "schema" or name == schema,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str, metadata: MetaData, schema: str) -> None:
    engine = async_engine_from_config(
        {"sqlalchemy.url": async_url(url)}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    async with engine.connect() as conn:
        await conn.run_sync(_do_run, metadata, schema)
        await conn.commit()
    await engine.dispose()


def run_env(metadata: MetaData, schema: str, default_url: str | None = None) -> None:
    """Body of a service's ``migrations/env.py`` (online mode only: we always have a DB)."""
    cfg = context.config
    url = cfg.attributes.get("database_url") or cfg.get_main_option("sqlalchemy.url") or default_url
    if not url:
        raise RuntimeError("no database URL for migrations")
    connection = cfg.attributes.get("connection")
    if connection is not None:
        _do_run(connection, metadata, schema)
        return
    asyncio.run(_run_async(url, metadata, schema))


def alembic_config(service_dir: Path, database_url: str) -> Config:
    """Alembic Config for a service folder holding ``alembic.ini`` and ``migrations/``."""
    cfg = Config(str(service_dir / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_dir / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(service_dir: Path, database_url: str, revision: str = "head") -> None:
    """Apply a service's migrations (blocking; call from a thread inside an event loop)."""
    command.upgrade(alembic_config(service_dir, database_url), revision)


async def upgrade_async(service_dir: Path, database_url: str, revision: str = "head") -> None:
    """Apply migrations from async code (Alembic's env runs its own loop in a thread)."""
    await asyncio.to_thread(upgrade, service_dir, database_url, revision)


def messaging_ddl(op: Any, schema: str) -> None:
    """Create outbox, inbox and idempotency tables in a migration (the first one of a service)."""
    from caisse_shared.db import make_metadata
    from caisse_shared.messaging.tables import messaging_tables

    md = make_metadata(schema)
    for table in messaging_tables(md):
        table.create(op.get_bind(), checkfirst=True)
