"""Scheduled jobs: yesterday's reconciliation per channel; purge of old replay-guard rows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from caisse_shared.db import Database
from sqlalchemy import select, text

from caisse_payments.db import repositories as repo
from caisse_payments.db.models import statement_line
from caisse_payments.services import reconciliation as recon

log = logging.getLogger("caisse.payments.scheduler")
LOCK_ID = 0x5041_594D  # one run at a time across workers and replicas
PURGE_LOCK_ID = 0x5041_5944  # one purge at a time (workers would only skip each other's rows)
PURGE_BATCH = 10_000  # rows per transaction: short locks, a big backlog goes in steps


class ReconciliationScheduler:
    """Background worker: reconcile the previous day every ``interval_s`` (when given), and
    purge deliveries older than ``delivery_retention_s`` every ``purge_interval_s`` (when > 0)."""

    def __init__(
        self,
        database: Database,
        *,
        interval_s: float | None,
        tolerance_days: int,
        delivery_retention_s: float = 24 * 3600.0,
        purge_interval_s: float = 0.0,
    ) -> None:
        self.database = database
        self.interval_s = interval_s
        self.tolerance_days = tolerance_days
        self.delivery_retention_s = delivery_retention_s
        self.purge_interval_s = purge_interval_s
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start one loop per enabled job."""
        if self.interval_s:
            self._tasks.append(self._every(self.interval_s, self.run_once, "reconciliation"))
        if self.purge_interval_s > 0:
            self._tasks.append(self._every(self.purge_interval_s, self.purge_deliveries, "delivery purge"))

    async def stop(self) -> None:
        """Stop the loops."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def _every(self, interval_s: float, job: Callable[[], Awaitable[int]], name: str) -> asyncio.Task[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await job()
                except Exception:
                    log.exception("scheduled %s failed", name)

        return asyncio.create_task(loop(), name=f"payments-{name.replace(' ', '-')}")

    async def run_once(self) -> int:
        """Reconcile yesterday for every channel with statement lines; returns jobs run."""
        day = (datetime.now(UTC) - timedelta(days=1)).date()
        async with self.database.unit_of_work() as session:
            locked = (
                await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_ID})
            ).scalar()
            if not locked:
                return 0
            channels = (
                (
                    await session.execute(
                        select(statement_line.c.channel).where(statement_line.c.value_date == day).distinct()
                    )
                )
                .scalars()
                .all()
            )
            for channel in channels:
                await recon.run(
                    session,
                    recon.RunRequest(channel, day, day, trigger="SCHEDULED"),
                    tolerance_days=self.tolerance_days,
                )
            return len(channels)

    async def purge_deliveries(self) -> int:
        """Delete replay-guard rows past the retention, in batches; returns rows deleted."""
        purged = 0
        while True:
            async with self.database.unit_of_work() as session:
                locked = (
                    await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PURGE_LOCK_ID})
                ).scalar()
                if not locked:
                    return purged
                n = await repo.purge_deliveries(session, self.delivery_retention_s, batch=PURGE_BATCH)
            purged += n
            if n < PURGE_BATCH:
                if purged:
                    log.info("purged %d webhook deliveries", purged)
                return purged
