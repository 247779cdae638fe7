"""Scheduled reconciliation: yesterday's statement vs payments, once per interval per channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from caisse_shared.db import Database
from sqlalchemy import select, text

from caisse_payments.db.models import statement_line
from caisse_payments.services import reconciliation as recon

log = logging.getLogger("caisse.payments.scheduler")
LOCK_ID = 0x5041_594D  # one run at a time across workers and replicas


class ReconciliationScheduler:
    """Background worker: every ``interval_s``, reconcile the previous day for each channel."""

    def __init__(self, database: Database, *, interval_s: float, tolerance_days: int) -> None:
        self.database = database
        self.interval_s = interval_s
        self.tolerance_days = tolerance_days
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop."""
        self._task = asyncio.create_task(self._loop(), name="payments-reconciliation")

    async def stop(self) -> None:
        """Stop the loop."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.run_once()
            except Exception:
                log.exception("scheduled reconciliation failed")

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
