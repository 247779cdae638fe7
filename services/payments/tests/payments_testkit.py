"""Test helpers: settings, signed webhook requests, database peeks."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from caisse_payments.config import Settings
from caisse_payments.domain.signature import sign
from caisse_payments.main import create_app
from caisse_shared.db import Database
from sqlalchemy import text

SERVICE_DIR = Path(__file__).resolve().parents[1]
SECRET = "dev-secret"


def make_settings(db_url: str, bootstrap: str = "127.0.0.1:1", **kw: Any) -> Settings:
    """Settings for tests (background workers off unless asked)."""
    base: dict[str, Any] = {
        "database_url": db_url,
        "kafka_bootstrap_servers": bootstrap,
        "kafka_enable_idempotence": False,
        "run_background_workers": False,
        "log_json": False,
        "environment": "development",
        "reconciliation_schedule_enabled": False,
    }
    base.update(kw)
    return Settings(**base)


def signed(body: Any, *, ts: int | None = None, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    """A JSON body and its signature headers."""
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    stamp = str(int(time.time()) if ts is None else ts)
    return raw, {
        "X-Caisse-Timestamp": stamp,
        "X-Caisse-Signature": sign(secret, stamp, raw),
        "Content-Type": "application/json",
    }


def database_of(app: Any) -> Database:
    """The app's Database."""
    db: Database = app.state.database
    return db


async def scalar(app: Any, sql: str, **params: Any) -> Any:
    """One value from the service's database."""
    async with database_of(app).engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def add_loan(
    app: Any,
    account: str,
    *,
    cif: str = "CIF1",
    status: str = "ACTIVE",
    principal: int = 100_000,
    interest: int = 5_000,
    penalties: int = 1_000,
    currency: str = "XOF",
    institution: str | None = None,
) -> None:
    """Put a loan in the read model (as the bank-sync consumer would)."""
    async with database_of(app).engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO payments.loan (account_number, cif, currency, status, "
                "outstanding_principal, outstanding_interest, outstanding_penalties, institution_id, "
                "source_occurred_at) VALUES (:a, :c, :cur, :s, :p, :i, :pen, :inst, now())"
            ),
            {
                "a": account,
                "c": cif,
                "cur": currency,
                "s": status,
                "p": principal,
                "i": interest,
                "pen": penalties,
                "inst": institution,
            },
        )


__all__ = [
    "SERVICE_DIR",
    "add_loan",
    "create_app",
    "database_of",
    "make_settings",
    "scalar",
    "signed",
]
