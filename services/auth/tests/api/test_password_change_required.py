"""After an admin reset, the token only allows changing the password and logging out."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from caisse_shared.errors import install_error_handlers
from caisse_shared.http.security import Principal, TokenVerifier, require
from caisse_shared.permissions import PAYMENTS_READ
from fastapi import APIRouter, Depends, FastAPI

PASSWORD = "Super-Passw0rd!"
NEW_PASSWORD = "Changed-Passw0rd!"

# Stands for another service (payments): it verifies auth's tokens locally with the shared kit.
other_router = APIRouter()
PaymentsReader = Annotated[Principal, Depends(require(PAYMENTS_READ))]


@other_router.get("/api/payments")
async def list_payments(principal: PaymentsReader) -> dict[str, str]:
    return {"subject": principal.subject}


async def _other_service(api: Any) -> httpx.AsyncClient:
    """A client on a minimal service that trusts auth's published JWKS."""
    jwks = (await api.client.get("/.well-known/jwks.json")).json()
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(other_router)
    app.state.token_verifier = TokenVerifier(
        issuer=api.settings.jwt_issuer, audience=api.settings.jwt_audience, keys=jwks["keys"]
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://other")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _refused(r: httpx.Response) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "password_change_required"


async def test_reset_password_token_opens_nothing_but_the_change(api: Any, admin: dict[str, str]) -> None:
    user = await api.create_user(admin, "reset.me", PASSWORD, ["sfd_supervisor"], institution_id="sfd-pw")
    r = await api.client.post(f"/api/users/{user['id']}/password/reset", headers=admin, json={})
    temp = r.json()["temporary_password"]
    async with await _other_service(api) as other:
        first = await api.login("reset.me", temp)
        assert first["user"]["must_change_password"] is True
        _refused(await api.client.get("/api/users", headers=_bearer(first["token"])))
        _refused(await other.get("/api/payments", headers=_bearer(first["token"])))
        claims = (await api.client.post("/api/auth/token/validate", json={"token": first["token"]})).json()
        assert claims["valid"] is True and claims["permissions"] == [] and claims["roles"] == []
        r = await api.client.post("/api/auth/logout", json={"token": first["token"]})
        assert r.status_code == 200 and r.json() == {"success": True}

        # a refresh while the flag is set gives a restricted token again
        second = await api.login("reset.me", temp)
        r = await api.client.post("/api/auth/token/refresh", json={"refreshToken": second["refreshToken"]})
        assert r.status_code == 200, r.text
        refreshed = _bearer(r.json()["token"])
        _refused(await api.client.get("/api/users", headers=refreshed))
        _refused(await other.get("/api/payments", headers=refreshed))
        r = await api.client.post(
            "/api/auth/password",
            headers=refreshed,
            json={"current_password": temp, "new_password": NEW_PASSWORD},
        )
        assert r.status_code == 200 and r.json() == {"success": True}

        # after the change a new sign-in has the role's permissions again
        third = await api.login("reset.me", NEW_PASSWORD)
        assert third["user"]["must_change_password"] is False
        normal = _bearer(third["token"])
        assert (await api.client.get("/api/users", headers=normal)).status_code == 200
        assert (await other.get("/api/payments", headers=normal)).json() == {"subject": user["id"]}


async def test_a_user_created_with_must_change_password_is_restricted_too(
    api: Any, admin: dict[str, str]
) -> None:
    await api.create_user(
        admin, "new.hire", PASSWORD, ["sfd_supervisor"], institution_id="sfd-pw", must_change_password=True
    )
    body = await api.login("new.hire", PASSWORD)
    _refused(await api.client.get("/api/users", headers=_bearer(body["token"])))
    r = await api.client.post(
        "/api/auth/password",
        headers=_bearer(body["token"]),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert r.status_code == 200
    again = await api.login("new.hire", NEW_PASSWORD)
    assert (await api.client.get("/api/users", headers=_bearer(again["token"]))).status_code == 200
