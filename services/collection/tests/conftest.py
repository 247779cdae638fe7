"""Fixtures of the collection tests: settings, migrated databases, apps, seeding helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from caisse_collection.config import Settings
from caisse_collection.db.models import Base
from caisse_collection.services.cases import LoanFacts, apply_loan_facts
from caisse_shared.db import Database

SERVICE_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def service_dir() -> Path:
    """The collection service folder (alembic.ini, migrations)."""
    return SERVICE_DIR


def make_settings(database_url: str, bootstrap: str = "127.0.0.1:1", **kw: Any) -> Settings:
    """Test settings: embedded broker without idempotence, quick retries."""
    base: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap,
        "kafka_enable_idempotence": False,
        "environment": "development",
        "log_json": False,
        "consumer_retry_delays_s": (0.5, 1.0),
        "outbox_poll_interval_s": 0.05,
    }
    base.update(kw)
    return Settings(**base)


@pytest.fixture(scope="session")
def settings_factory() -> Callable[..., Settings]:
    """Build test settings."""
    return make_settings


async def seed_case(
    database: Database,
    cif: str,
    *,
    account: str | None = None,
    dpd: int = 10,
    overdue: int = 50_000,
    outstanding: int = 500_000,
    currency: str = "XOF",
    institution: str | None = "SFD1",
    agency: str | None = None,
    auto_assign: bool = True,
) -> None:
    """Open (or update) a case the way a bank-sync delinquency event does."""
    async with database.unit_of_work() as session:
        await apply_loan_facts(
            session,
            LoanFacts(account or f"ACC-{cif}", cif, currency, dpd, overdue, outstanding, institution, agency),
            auto_assign=auto_assign,
        )


@pytest.fixture(scope="session")
def seed() -> Callable[..., Awaitable[None]]:
    """``await seed(database, cif, ...)`` opens a case as bank-sync would."""
    return seed_case


@pytest.fixture
async def database(pg: Any) -> Any:
    """A fresh migrated collection database (per test)."""
    db = Database(await pg.migrated_database(SERVICE_DIR), Base.metadata)
    yield db
    await db.dispose()
