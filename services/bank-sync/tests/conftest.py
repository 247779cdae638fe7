"""Shared fixtures of the bank-sync tests."""

from __future__ import annotations

from pathlib import Path

import pytest

SERVICE_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture
def service_dir() -> Path:
    """The bank-sync service folder (alembic.ini, migrations)."""
    return SERVICE_DIR
