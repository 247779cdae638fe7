"""Operator commands: ``caisse-auth create-admin``, ``migrate``, ``rotate-keys``."""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path

import typer
from caisse_shared.db import Database
from caisse_shared.errors import AppError
from caisse_shared.migrations import upgrade

from caisse_auth.config import Settings
from caisse_auth.db.models import Base
from caisse_auth.domain.context import Origin
from caisse_auth.services import bootstrap
from caisse_auth.services.bootstrap import create_admin, startup
from caisse_auth.services.kit import AuthKit

app = typer.Typer(help="Caisse auth operator commands.", no_args_is_help=True)
SERVICE_DIR = Path(__file__).resolve().parents[2]


def _kit(settings: Settings) -> AuthKit:
    return AuthKit.build(settings, Database(settings.database_url, Base.metadata))


async def _create_admin(settings: Settings, username: str, password: str | None) -> str | None:
    kit = _kit(settings)
    try:
        await startup(kit)  # roles and signing key must exist first
        async with kit.database.unit_of_work() as session:
            return await create_admin(kit, session, username, password, actor="cli")
    finally:
        await kit.database.dispose()


@app.command("create-admin")
def create_admin_command(
    username: str = typer.Option("admin", help="username of the first administrator"),
    password: str | None = typer.Option(
        None, envvar="CAISSE_ADMIN_PASSWORD", help="password (else prompted; --generate for a random one)"
    ),
    generate: bool = typer.Option(False, help="generate a password and print it once"),
) -> None:
    """Create a platform administrator (the first one on a new installation)."""
    settings = Settings()
    if password is None and not generate:
        password = getpass.getpass("password: ")
    try:
        generated = asyncio.run(_create_admin(settings, username, password))
    except AppError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"administrator {username!r} created")
    if generated:
        typer.echo(f"generated password (shown once): {generated}")


@app.command("migrate")
def migrate() -> None:
    """Apply the auth schema migrations."""
    upgrade(SERVICE_DIR, Settings().database_url)
    typer.echo("auth schema up to date")


async def _rotate(settings: Settings) -> str:
    kit = _kit(settings)
    try:
        async with kit.database.unit_of_work() as session:
            return await bootstrap.rotate_keys(kit, session, Origin(actor="cli"))
    finally:
        await kit.database.dispose()


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Start signing with a new key; the old one stays published until its tokens expire."""
    typer.echo(f"signing with {asyncio.run(_rotate(Settings()))}")


if __name__ == "__main__":
    app()
