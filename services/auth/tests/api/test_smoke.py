"""Smoke: sign in as the platform administrator and read the JWKS."""

from __future__ import annotations

from typing import Any


async def test_login_and_jwks(api: Any, admin_password: str) -> None:
    body = await api.login("root", admin_password)
    assert body["success"] is True
    assert body["user"]["roles"] == ["platform_admin"]
    jwks = (await api.client.get("/.well-known/jwks.json")).json()
    assert len(jwks["keys"]) == 1
