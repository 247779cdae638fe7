"""Background worker running the scheduled jobs (broken promises, daily task list)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, date, datetime

from caisse_shared.db import Database

from caisse_collection.services import jobs

log = logging.getLogger("caisse.collection.scheduler")


class JobsWorker:
    """Runs ``jobs.run_all`` in its own unit of work every ``interval_s`` (lifespan worker)."""

    def __init__(self, database: Database, interval_s: float, *, run_on_start: bool = True) -> None:
        self.database = database
        self.interval_s = interval_s
        self.run_on_start = run_on_start
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    async def run_once(self, today: date | None = None) -> dict[str, int]:
        """One pass of every job (also what the CLI and tests call)."""
        async with self.database.unit_of_work() as session:
            result = await jobs.run_all(session, today or datetime.now(UTC).date())
        self.runs += 1
        return result

    async def _loop(self) -> None:
        if not self.run_on_start:
            await asyncio.sleep(self.interval_s)
        while True:
            try:
                log.info("scheduled jobs: %s", await self.run_once())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduled jobs failed; next run in %ss", self.interval_s)
            await asyncio.sleep(self.interval_s)

    async def start(self) -> None:
        """Start the loop in the background."""
        self._task = asyncio.create_task(self._loop(), name="collection-jobs")

    async def stop(self) -> None:
        """Cancel the loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
