"""Operator commands: migrate, run the scheduled jobs, automatic assignment."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import typer
from caisse_shared.db import Database
from caisse_shared.migrations import upgrade

from caisse_collection.config import Settings
from caisse_collection.db.models import Base
from caisse_collection.scheduler import JobsWorker
from caisse_collection.services.auto_assign import auto_assign_open_cases

app = typer.Typer(help="Caisse collection workflow operator commands")
SERVICE_DIR = Path(__file__).resolve().parents[2]


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    upgrade(SERVICE_DIR, Settings().database_url)
    typer.echo("collection: migrations applied")


@app.command("run-jobs")
def run_jobs(day: str = typer.Option("", help="ISO date to run for (default today)")) -> None:
    """Detect broken promises and generate the daily task list once."""

    async def go() -> dict[str, int]:
        db = Database(Settings().database_url, Base.metadata)
        try:
            return await JobsWorker(db, 0).run_once(date.fromisoformat(day) if day else None)
        finally:
            await db.dispose()

    typer.echo(asyncio.run(go()))


@app.command("auto-assign")
def auto_assign(institution: str = typer.Option("", help="institution id (empty = none)")) -> None:
    """Balance every open unassigned case of an institution across its active agents."""

    async def go() -> int:
        db = Database(Settings().database_url, Base.metadata)
        try:
            async with db.unit_of_work() as session:
                return await auto_assign_open_cases(session, institution or None, by="cli")
        finally:
            await db.dispose()

    typer.echo(f"assigned {asyncio.run(go())} customers")


if __name__ == "__main__":
    app()
