"""Sync job states (pure Python)."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """Lifecycle: QUEUED → RUNNING → COMPLETED | FAILED."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def lock_key(source: str) -> str:
    """Text hashed into the advisory lock a running sync of ``source`` holds."""
    return f"bank_sync:{source}"
