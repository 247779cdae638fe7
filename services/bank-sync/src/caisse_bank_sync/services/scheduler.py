"""Scheduled synchronisation: each source with an interval gets a job when it is due."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from caisse_shared.db import Database

from caisse_bank_sync.config import Settings
from caisse_bank_sync.domain.entities import SyncMode
from caisse_bank_sync.domain.errors import SyncAlreadyRunning
from caisse_bank_sync.services import jobs
from caisse_bank_sync.services.runner import SyncRunner

log = logging.getLogger("caisse.bank_sync.scheduler")


def due_sources(settings: Settings, last_run: dict[str, float], now: float) -> list[str]:
    """Sources whose interval has elapsed since their last scheduled run."""
    out = []
    for name, cfg in settings.source_configs().items():
        interval = cfg.schedule_interval_s
        if interval and now - last_run.get(name, float("-inf")) >= interval:
            out.append(name)
    return out


class SyncScheduler:
    """Background worker queueing scheduled syncs (a busy source is simply skipped)."""

    def __init__(self, database: Database, settings: Settings, runner: SyncRunner) -> None:
        self.db, self.settings, self.runner = database, settings, runner
        self.last_run: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start ticking (only if some source has a schedule)."""
        if any(c.schedule_interval_s for c in self.settings.source_configs().values()):
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop ticking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    async def _loop(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self.settings.scheduler_tick_s)

    async def tick(self) -> list[str]:
        """Queue a job for every due source; returns the sources queued."""
        queued = []
        for source in due_sources(self.settings, self.last_run, time.monotonic()):
            self.last_run[source] = time.monotonic()
            mode = SyncMode(self.settings.source_configs()[source].schedule_mode)
            try:
                async with self.db.unit_of_work() as s:
                    job = await jobs.create_job(
                        s,
                        source=source,
                        mode=mode,
                        entity_type=None,
                        sources=set(self.settings.source_configs()),
                        requested_by=None,
                        trigger="SCHEDULE",
                        queued_timeout_s=self.settings.queued_job_timeout_s,
                    )
            except SyncAlreadyRunning:
                log.info("scheduled sync of %s skipped: one is running", source)
                continue
            self.runner.submit(job["id"])
            queued.append(source)
        return queued
