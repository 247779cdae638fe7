"""Shared set-up for benchmarks: embedded PostgreSQL + Tansu in a temp dir, demo schema."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from caisse_shared.db import Database, make_metadata
from caisse_shared.events.envelope import Event
from caisse_shared.events.registry import SchemaRegistry
from caisse_shared.infra import EmbeddedPostgres, TansuBroker
from caisse_shared.messaging.tables import messaging_tables
from sqlalchemy import BigInteger, Column, String, Table, text

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = SchemaRegistry(ROOT / "libs" / "shared" / "tests" / "fixtures" / "avro")
metadata = make_metadata("bench")
widgets = Table(
    "widget",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("amount", BigInteger, nullable=False),
)
messaging_tables(metadata)


@dataclass
class Stack:
    """The running embedded servers and a bench database."""

    pg: EmbeddedPostgres
    broker: TansuBroker
    database: Database


@asynccontextmanager
async def stack() -> AsyncIterator[Stack]:
    """Start PostgreSQL and Tansu, create the bench schema; tear everything down after."""
    tmp = Path(tempfile.mkdtemp(prefix="caisse-bench-"))
    pg = EmbeddedPostgres(tmp / "pg", cleanup=True)
    broker = TansuBroker().start()
    db = Database(pg.url, metadata, pool_size=10)
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS bench CASCADE"))
        await conn.execute(text("CREATE SCHEMA bench"))
        await conn.run_sync(metadata.create_all)
    try:
        yield Stack(pg, broker, db)
    finally:
        await db.dispose()
        broker.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def widget_event(topic: str, i: int) -> Event:
    """A small realistic event (~60 bytes of Avro)."""
    wid = uuid.uuid4().hex
    return Event(
        event_type="demo.WidgetCreated",
        topic=topic,
        key=wid,
        producer="bench",
        payload={"widget_id": wid, "amount": 1000 + i, "currency": "XOF", "fail": False},
    )


class RunAborted(RuntimeError):
    """A measured run met an error (a failed sync, an unexpected answer, an exception): no
    figure is computed from it, the benchmark stops with this message."""


def percentile(values: list[float], p: float) -> float:
    """p-th percentile (0-100) of values."""
    if not values:
        return float("nan")
    qs = statistics.quantiles(values, n=1000, method="inclusive")
    return qs[min(len(qs) - 1, max(0, int(p * 10) - 1))]


def arg(argv: list[str], name: str, default: float) -> float:
    """``--name=value`` from argv, else default."""
    for a in argv:
        if a.startswith(f"--{name}="):
            return float(a.split("=", 1)[1])
    return default
