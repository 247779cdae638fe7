"""Operator CLI: migrate, run a reconciliation, list suspense payments, purge old deliveries."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import typer
from caisse_shared.db import Database
from caisse_shared.migrations import upgrade
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from caisse_payments.config import Settings
from caisse_payments.db.models import Base, payment
from caisse_payments.domain.model import PaymentStatus
from caisse_payments.services import reconciliation as recon
from caisse_payments.services.scheduler import ReconciliationScheduler

app = typer.Typer(help="Caisse payments operator commands")
console = Console()
SERVICE_DIR = Path(__file__).resolve().parents[2]


def _db() -> tuple[Settings, Database]:
    settings = Settings()
    return settings, Database(settings.database_url, Base.metadata)


@app.command()
def migrate() -> None:
    """Apply the payments schema migrations."""
    upgrade(SERVICE_DIR, Settings().database_url)
    console.print("payments schema up to date")


@app.command()
def reconcile(
    channel: str,
    start: str,
    end: str,
    statement: Path | None = typer.Option(None, help="provider CSV to import first"),
) -> None:
    """Reconcile one channel from START to END (ISO dates, inclusive)."""

    csv_text = statement.read_text("utf-8") if statement else None

    async def run() -> None:
        settings, db = _db()
        try:
            async with db.unit_of_work() as session:
                job, report = await recon.run(
                    session,
                    recon.RunRequest(
                        channel.upper(),
                        date.fromisoformat(start),
                        date.fromisoformat(end),
                        statement_csv=csv_text,
                        requested_by="cli",
                    ),
                    tolerance_days=settings.reconciliation_date_tolerance_days,
                )
            console.print(f"job {job.id}: matched {report.matched}, issues {len(report.discrepancies)}")
            for d in report.discrepancies:
                console.print(f"  {d.kind.value:<18} {d.provider_reference:<30} {d.detail}")
        finally:
            await db.dispose()

    asyncio.run(run())


@app.command()
def suspense(limit: int = 50) -> None:
    """Unallocated payments waiting for an operator."""

    async def run() -> None:
        _, db = _db()
        try:
            async with db.unit_of_work() as session:
                rows = (
                    await session.execute(
                        select(payment)
                        .where(payment.c.status == PaymentStatus.UNALLOCATED.value)
                        .order_by(payment.c.received_at.desc())
                        .limit(limit)
                    )
                ).all()
        finally:
            await db.dispose()
        table = Table("reference", "channel", "account", "amount", "reason")
        for r in rows:
            table.add_row(
                r.reference_number,
                r.channel,
                r.account_number or "-",
                f"{r.amount} {r.currency}",
                r.review_reason or "",
            )
        console.print(table)

    asyncio.run(run())


@app.command("purge-deliveries")
def purge_deliveries(older_than_hours: float = 24.0) -> None:
    """Delete replay-guard rows older than the window (they can no longer be replayed)."""

    async def run() -> None:
        settings, db = _db()
        try:
            scheduler = ReconciliationScheduler(
                db,
                interval_s=None,
                tolerance_days=settings.reconciliation_date_tolerance_days,
                delivery_retention_s=older_than_hours * 3600,
            )
            console.print(f"purged {await scheduler.purge_deliveries()} deliveries")
        finally:
            await db.dispose()

    asyncio.run(run())


if __name__ == "__main__":
    app()
