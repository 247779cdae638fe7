"""Token security: validation, forgeries, revocation, refresh rotation and reuse, key rotation."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest
from caisse_auth.db.models import SigningKey
from caisse_shared.events.envelope import utcnow
from caisse_shared.http.security import TokenVerifier, principal_from_claims
from caisse_shared.testing.tokens import TokenFactory
from jose import jwt
from sqlalchemy import update


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _validate(api: Any, token: str) -> dict[str, Any]:
    r = await api.client.post("/api/auth/token/validate", json={"token": token})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _fresh(api: Any, admin_password: str) -> dict[str, Any]:
    return dict(await api.login("root", admin_password))


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.get_unverified_claims(token))


async def test_access_token_contract(api: Any, admin_password: str) -> None:
    body = await _fresh(api, admin_password)
    header = jwt.get_unverified_header(body["access_token"])
    claims = _claims(body["access_token"])
    assert header["alg"] == "RS256"
    assert header["kid"]
    assert claims["iss"] == "caisse-auth"
    assert claims["aud"] == "caisse"
    assert claims["typ"] == "access"
    assert claims["permissions"] == ["*"]
    assert claims["roles"] == ["platform_admin"]
    assert 0 < claims["exp"] - claims["iat"] <= 900
    assert claims["nbf"] == claims["iat"]
    assert claims["jti"]
    assert claims["sid"] == body["session_id"]
    assert body["token"] == body["access_token"]
    assert body["refreshToken"] == body["refresh_token"]


async def test_validate_happy_path(api: Any, admin_password: str) -> None:
    body = await _fresh(api, admin_password)
    result = await _validate(api, body["access_token"])
    assert result["valid"] is True
    assert result["username"] == "root"
    assert result["permissions"] == ["*"]
    assert result["session_id"] == body["session_id"]


async def test_token_accepted_by_another_service_through_shared_verifier(
    api: Any, admin_password: str
) -> None:
    body = await _fresh(api, admin_password)
    jwks = (await api.client.get("/.well-known/jwks.json")).json()
    verifier = TokenVerifier(issuer="caisse-auth", audience="caisse", keys=jwks["keys"])
    principal = principal_from_claims(await verifier.verify(body["access_token"]))
    assert principal.has("payments:read")
    assert principal.roles == ("platform_admin",)
    assert principal.token_id == _claims(body["access_token"])["jti"]


async def test_expired_token_rejected(api: Any) -> None:
    ring = api.app.state.kit.ring
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "iss": "caisse-auth",
        "aud": "caisse",
        "iat": now - 100,
        "nbf": now - 100,
        "exp": now - 10,
        "jti": "x",
        "typ": "access",
        "sid": "s",
    }
    token = await ring.sign(claims)
    result = await _validate(api, token)
    assert result == {**result, "valid": False, "reason": "token expired"}


async def test_tampered_signature_rejected(api: Any, admin_password: str) -> None:
    token = (await _fresh(api, admin_password))["access_token"]
    head, payload, sig = token.split(".")
    forged = _claims(token) | {"permissions": ["*"], "sub": "someone-else"}
    assert (await _validate(api, f"{head}.{_b64(forged)}.{sig}"))["valid"] is False
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    assert (await _validate(api, f"{head}.{payload}.{flipped}"))["valid"] is False


async def test_alg_none_rejected(api: Any, admin_password: str) -> None:
    token = (await _fresh(api, admin_password))["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(_claims(token))}."
    result = await _validate(api, unsigned)
    assert result["valid"] is False
    assert "algorithm" in result["reason"]


async def test_hs256_signed_with_public_key_rejected(api: Any, admin_password: str) -> None:
    token = (await _fresh(api, admin_password))["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    jwks = (await api.client.get("/.well-known/jwks.json")).json()
    public = json.dumps(jwks["keys"][0])
    forged = jwt.encode(_claims(token), public, algorithm="HS256", headers={"kid": kid})
    result = await _validate(api, forged)
    assert result["valid"] is False
    assert "algorithm" in result["reason"]


async def test_unknown_kid_and_foreign_key_rejected(api: Any) -> None:
    factory = TokenFactory()  # a key auth never published
    result = await _validate(api, factory.token("*", sub=str(uuid.uuid4()), sid="x"))
    assert result["valid"] is False
    assert result["reason"] == "unknown signing key"
    r = await api.client.get("/api/roles", headers=factory.headers("*"))
    assert r.status_code == 401


async def test_garbage_tokens_are_invalid_not_errors(api: Any) -> None:
    for token in ["x", "a.b.c", "....", "eyJhbGciOiJSUzI1NiJ9.e30.", "Bearer x" * 50]:
        assert (await _validate(api, token))["valid"] is False


async def test_logout_revokes_at_once(api: Any, admin_password: str) -> None:
    body = await _fresh(api, admin_password)
    token = body["access_token"]
    r = await api.client.post("/api/auth/logout", json={"token": token})
    assert r.status_code == 200
    assert r.json() == {"success": True}
    result = await _validate(api, token)
    assert result["valid"] is False
    assert result["reason"] == "token revoked"
    r = await api.client.get("/api/roles", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    r = await api.client.post("/api/auth/token/refresh", json={"refreshToken": body["refresh_token"]})
    assert r.status_code == 401


async def test_logout_with_invalid_token_is_401(api: Any) -> None:
    r = await api.client.post("/api/auth/logout", json={"token": "not.a.token"})
    assert r.status_code == 401


async def test_refresh_rotates(api: Any, admin_password: str) -> None:
    body = await _fresh(api, admin_password)
    r = await api.client.post("/api/auth/token/refresh", json={"refreshToken": body["refresh_token"]})
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["refresh_token"] != body["refresh_token"]
    assert _claims(new["access_token"])["sid"] == body["session_id"]
    assert (await _validate(api, new["access_token"]))["valid"] is True
    r = await api.client.post("/api/auth/token/refresh", json={"refresh_token": new["refresh_token"]})
    assert r.status_code == 200


async def test_refresh_reuse_revokes_family(api: Any, admin_password: str) -> None:
    body = await _fresh(api, admin_password)
    first = body["refresh_token"]
    r = await api.client.post("/api/auth/token/refresh", json={"refreshToken": first})
    second = r.json()
    r = await api.client.post("/api/auth/token/refresh", json={"refreshToken": first})  # reuse
    assert r.status_code == 401
    assert "already used" in r.json()["detail"]
    r = await api.client.post("/api/auth/token/refresh", json={"refreshToken": second["refresh_token"]})
    assert r.status_code == 401  # the legitimate-looking successor died with the family
    assert (await _validate(api, second["access_token"]))["valid"] is False
    assert (await _validate(api, body["access_token"]))["valid"] is False
    admin = {"Authorization": f"Bearer {(await _fresh(api, admin_password))['access_token']}"}
    r = await api.client.get("/api/audit", headers=admin, params={"action": "LOGOUT"})
    assert any(row["reason"] == "refresh_token_reuse" for row in r.json())


async def test_unknown_refresh_token_is_401(api: Any) -> None:
    r = await api.client.post("/api/auth/token/refresh", json={"refreshToken": "rt_nope"})
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_refresh_token"


async def test_key_rotation_keeps_old_key_until_tokens_expire(api: Any, admin_password: str) -> None:
    admin = await api.headers_for("root", admin_password)
    old_token = admin["Authorization"].split()[1]
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    r = await api.client.post("/api/auth/keys/rotate", headers=admin)
    assert r.status_code == 200, r.text
    new_kid = r.json()["kid"]
    assert new_kid != old_kid
    kids = [k["kid"] for k in (await api.client.get("/.well-known/jwks.json")).json()["keys"]]
    assert kids[0] == new_kid
    assert old_kid in kids
    assert (await _validate(api, old_token))["valid"] is True  # old key still verifies
    fresh = await _fresh(api, admin_password)
    assert jwt.get_unverified_header(fresh["access_token"])["kid"] == new_kid
    kit = api.app.state.kit
    async with kit.database.unit_of_work() as session:  # the old key's tokens have now expired
        await session.execute(
            update(SigningKey).where(SigningKey.kid == old_kid).values(publish_until=utcnow())
        )
    await kit.ring.refresh(force=True)
    kids = [k["kid"] for k in (await api.client.get("/.well-known/jwks.json")).json()["keys"]]
    assert kids == [new_kid]
    assert (await _validate(api, old_token))["valid"] is False


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": 1}, {"token": "a", "x": 1}])
async def test_validate_bad_input_is_4xx(api: Any, body: dict[str, Any]) -> None:
    r = await api.client.post("/api/auth/token/validate", json=body)
    assert r.status_code == 422
