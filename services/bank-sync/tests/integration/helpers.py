"""Helpers for the engine integration tests: run a sync, read tables and the outbox back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caisse_bank_sync.config import Settings, SourceConfig
from caisse_bank_sync.db.models import Base
from caisse_bank_sync.domain.entities import SyncMode
from caisse_bank_sync.services import jobs
from caisse_bank_sync.services.engine import SyncResult
from caisse_bank_sync.services.runner import SyncRunner
from caisse_bank_sync.sources.files import FileConnector
from caisse_shared.db import Database
from caisse_shared.events.registry import default_registry
from sqlalchemy import text

SERVICE_DIR = Path(__file__).resolve().parents[2]


class Harness:
    """One migrated database and a runner reading extracts from ``folder``."""

    def __init__(self, url: str, folder: Path, **overrides: Any) -> None:
        self.folder = folder
        self.settings = Settings(
            database_url=url,
            sources={s: SourceConfig(path=folder / s) for s in ("T24", "W4", "LOS")},
            **overrides,
        )
        self.db = Database(url, Base.metadata)
        self.runner = SyncRunner(self.db, self.settings)

    async def sync(
        self, source: str = "T24", mode: SyncMode = SyncMode.FULL, entity: str | None = None
    ) -> tuple[dict[str, Any], SyncResult | None]:
        """Create and execute a job now; returns the job row and the result."""
        async with self.db.unit_of_work() as s:
            job = await jobs.create_job(
                s,
                source=source,
                mode=mode,
                entity_type=entity,
                sources={"T24", "W4", "LOS"},
                requested_by="test",
            )
        result = await self.runner.execute(job["id"], FileConnector(source, self.folder / source))
        async with self.db.unit_of_work() as s:
            return await jobs.get_job(s, job["id"]), result

    async def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of a query as dicts."""
        async with self.db.unit_of_work() as s:
            return [dict(r._mapping) for r in await s.execute(text(sql), params)]

    async def outbox(self, event_type: str) -> list[dict[str, Any]]:
        """Decoded payloads of one event type in the outbox, oldest first."""
        rows = await self.rows(
            "SELECT key, payload FROM bank_sync.outbox WHERE event_type = :t ORDER BY id", t=event_type
        )
        reg = default_registry()
        return [{"key": r["key"], **reg.decode(event_type, 1, r["payload"])} for r in rows]

    async def table(self, name: str) -> list[dict[str, Any]]:
        """A whole entity table without bookkeeping timestamps/job ids, ordered."""
        rows = await self.rows(f"SELECT * FROM bank_sync.{name} ORDER BY 1, 2")
        drop = {"created_at", "updated_at", "last_sync_job_id", "stale_since"}
        return [{k: v for k, v in r.items() if k not in drop} for r in rows]
