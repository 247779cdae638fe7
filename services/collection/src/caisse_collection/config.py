"""Settings of the collection service (env prefix ``CAISSE_COLLECTION_``)."""

from __future__ import annotations

from typing import ClassVar

from caisse_shared.config import ServiceSettings
from pydantic_settings import SettingsConfigDict

SCHEMA = "collection"


class Settings(ServiceSettings):
    """Collection workflow settings."""

    model_config = SettingsConfigDict(
        env_prefix="CAISSE_COLLECTION_", extra="ignore", env_file=None, populate_by_name=True
    )
    service_name: ClassVar[str] = "collection"
    db_schema: ClassVar[str] = SCHEMA

    consumer_group: str = "collection"
    # Scheduled jobs (daily task list, broken-promise detection): how often the worker runs them.
    jobs_interval_s: float = 3600.0
    run_jobs_on_start: bool = True
    # Open a case from a bank-sync event and assign it automatically.
    auto_assign: bool = True
    # A promise to pay may not be dated further ahead than this.
    max_promise_days: int = 60
