"""Settings of the bank-sync service (env prefix ``CAISSE_BANK_SYNC_``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from caisse_shared.config import ServiceSettings
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict

SCHEMA = "bank_sync"


class SourceConfig(BaseModel):
    """Where one source system's extracts come from: a folder of files or an HTTP API."""

    kind: str = "file"  # file | http
    path: Path | None = None
    base_url: str | None = None
    # Seconds between scheduled syncs of this source (None: manual only).
    schedule_interval_s: float | None = None
    schedule_mode: str = "INCREMENTAL"


def _default_sources() -> dict[str, SourceConfig]:
    base = Path("data/extracts")
    return {name: SourceConfig(path=base / name) for name in ("T24", "W4", "LOS")}


class Settings(ServiceSettings):
    """bank-sync settings."""

    model_config = SettingsConfigDict(
        env_prefix="CAISSE_BANK_SYNC_",
        extra="ignore",
        env_file=None,
        populate_by_name=True,
        env_nested_delimiter="__",
    )
    service_name: ClassVar[str] = "bank-sync"
    db_schema: ClassVar[str] = SCHEMA

    port: int = 8002
    sources: dict[str, SourceConfig] = {}
    # Lower bounds (days past due) of the delinquency buckets after CURRENT.
    delinquency_thresholds: tuple[int, ...] = (1, 31, 61, 91)
    # One banksync.loan.updated snapshot per created/changed loan (feeds payments/collection).
    publish_loan_snapshots: bool = True
    entity_event_batch_size: int = 1000
    # First load of an empty table: secondary indexes dropped and rebuilt after the insert;
    # readers of that table wait for the commit (a reader already in it keeps the indexes).
    defer_first_load_indexes: bool = True
    first_load_index_lock_timeout_ms: int = 2000
    # A QUEUED job that never started after this long is considered abandoned.
    queued_job_timeout_s: float = 300.0
    scheduler_tick_s: float = 30.0

    def source_configs(self) -> dict[str, SourceConfig]:
        """Configured sources, falling back to ``data/extracts/<SOURCE>`` folders."""
        return self.sources or _default_sources()
