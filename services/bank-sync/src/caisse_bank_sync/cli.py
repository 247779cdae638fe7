"""Operator CLI: ``caisse-bank-sync import|generate|layouts|migrate``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from caisse_shared.db import Database
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from caisse_bank_sync import synthetic
from caisse_bank_sync.config import Settings
from caisse_bank_sync.db.models import Base
from caisse_bank_sync.domain.entities import ENTITIES, SyncMode
from caisse_bank_sync.domain.layouts import LAYOUTS
from caisse_bank_sync.services import jobs
from caisse_bank_sync.services.engine import SyncResult
from caisse_bank_sync.services.runner import SyncRunner
from caisse_bank_sync.sources.files import FileConnector

app = typer.Typer(help="bank-sync operator commands", no_args_is_help=True)
console = Console()
SERVICE_DIR = Path(__file__).resolve().parents[2]


async def _import(source: str, folder: Path, mode: SyncMode, entity: str | None) -> SyncResult | None:
    settings = Settings()
    db = Database(settings.database_url, Base.metadata)
    runner = SyncRunner(db, settings)
    try:
        async with db.unit_of_work() as s:
            job = await jobs.create_job(
                s,
                source=source,
                mode=mode,
                entity_type=entity,
                sources={source},
                requested_by="cli",
                trigger="CLI",
            )
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,} rows"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(name: str, rows: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(f"{source} {name}", total=None)
                bar.advance(tasks[name], rows)

            return await runner.execute(job["id"], FileConnector(source, folder), progress)
    finally:
        await db.dispose()


@app.command("import")
def import_extract(
    source: Annotated[str, typer.Argument(help="T24 | W4 | LOS")],
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    mode: Annotated[SyncMode, typer.Option()] = SyncMode.FULL,
    entity: Annotated[str | None, typer.Option(help="only this entity type")] = None,
) -> None:
    """Import an extract folder now (one transaction), with a progress bar."""
    result = asyncio.run(_import(source.upper(), folder, mode, entity))
    if result is None:
        console.print("[red]sync failed[/red] (see sync_error / GET /api/sync/jobs/{id})")
        raise typer.Exit(1)
    table = Table("entity", "processed", "created", "updated", "unchanged", "stale", "errors")
    for e in result.entities:
        table.add_row(
            e.entity,
            *(
                f"{getattr(e, c):,}"
                for c in ("processed", "created", "updated", "unchanged", "stale", "errors")
            ),
        )
    console.print(table)
    console.print(f"referential-integrity errors: {result.integrity_errors}")


@app.command()
def generate(
    source: str,
    out_dir: Path,
    customers: int = 1000,
    loans: int = 1500,
    seed: int = 0,
    change_ratio: float = 0.0,
    delinquent_ratio: float = 0.1,
) -> None:
    """Write a synthetic extract in the source's layout."""
    files = synthetic.generate(
        source.upper(),
        out_dir,
        customers=customers,
        loans=loans,
        seed=seed,
        change_ratio=change_ratio,
        delinquent_ratio=delinquent_ratio,
    )
    for entity, path in files.items():
        console.print(f"{entity:20} {path}")


@app.command()
def layouts(source: Annotated[str | None, typer.Argument()] = None) -> None:
    """Print the field mapping of every source layout (canonical field → source column)."""
    for (src, entity), lay in LAYOUTS.items():
        if source and src != source.upper():
            continue
        table = Table("canonical field", "kind", f"{src} column", title=f"{src} {entity}: {lay.file_name}")
        for f in ENTITIES[entity].fields:
            table.add_row(f.name, f.kind.value, lay.column_for(f.name))
        console.print(table)


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    from caisse_shared.migrations import upgrade

    upgrade(SERVICE_DIR, Settings().database_url)


if __name__ == "__main__":
    app()
