"""Start-up: demo admin only in development, operator CLI, signing keys encrypted at rest."""

from __future__ import annotations

from typing import Any

import pytest
from caisse_auth.cli import app as cli
from caisse_auth.config import Settings
from caisse_auth.db.models import SigningKey, User
from caisse_auth.domain.keys import KeyDecryptionError
from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from typer.testing import CliRunner


async def _users(api: Any) -> list[str]:
    async with api.app.state.kit.database.unit_of_work() as session:
        return list((await session.execute(select(User.username))).scalars())


async def test_demo_admin_with_password_from_env(
    settings_for: Any, api_for: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = await settings_for(environment="development", admin_password=SecretStr("Demo-Passw0rd!"))
    async with api_for(settings) as api:
        assert await _users(api) == ["admin"]
        body = await api.login("admin", "Demo-Passw0rd!")
        assert body["user"]["roles"] == ["platform_admin"]
    assert "Demo-Passw0rd!" not in capsys.readouterr().out  # chosen, so never printed


async def test_demo_admin_generated_password_is_printed_once(
    settings_for: Any, api_for: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = await settings_for(environment="development")
    async with api_for(settings) as api:
        out = capsys.readouterr().out
        password = next(
            line.split(":", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("password:")
        )
        assert (await api.login("admin", password))["success"] is True
    async with api_for(settings) as again:  # second start: no new account, nothing printed
        assert await _users(again) == ["admin"]
        assert "password:" not in capsys.readouterr().out


@pytest.mark.parametrize("environment", ["test", "staging", "production"])
async def test_no_default_account_outside_development(
    settings_for: Any, api_for: Any, environment: str
) -> None:
    settings = await settings_for(environment=environment, key_encryption_secret=SecretStr("k" * 40))
    async with api_for(settings) as api:
        assert await _users(api) == []


def test_dev_key_encryption_secret_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="key_encryption_secret has a development default"):
        Settings(environment="production")


async def test_private_keys_are_encrypted_at_rest(api: Any, settings_for: Any, api_for: Any) -> None:
    async with api.app.state.kit.database.unit_of_work() as session:
        rows = (await session.execute(select(SigningKey))).scalars().all()
    assert rows
    for row in rows:
        assert b"PRIVATE KEY" not in row.private_key_enc
        assert "d" not in row.public_jwk  # the JWK holds the public half only
    wrong = api.settings.model_copy(update={"key_encryption_secret": SecretStr("other" * 8)})
    with pytest.raises(KeyDecryptionError):
        async with api_for(wrong):
            pass


async def test_cli_create_admin(settings_for: Any, api_for: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = await settings_for()
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CAISSE_ENV", "development")
    result = await _invoke(["create-admin", "--username", "first.admin", "--generate"])
    assert result.exit_code == 0, result.output
    password = result.output.split("shown once):", 1)[1].strip()
    again = await _invoke(["create-admin", "--username", "first.admin", "--generate"])
    assert again.exit_code == 1
    assert "taken" in again.output
    async with api_for(settings) as api:
        assert (await api.login("first.admin", password))["user"]["roles"] == ["platform_admin"]


async def _invoke(args: list[str]) -> Any:
    """Run the CLI in a thread (it runs its own event loop)."""
    import asyncio

    return await asyncio.to_thread(CliRunner().invoke, cli, args)
