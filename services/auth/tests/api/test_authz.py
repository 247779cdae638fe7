"""Every protected endpoint: 401 without a token, 403 without its permission; hostile input 4xx."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest

UID = str(uuid.uuid4())
SID = str(uuid.uuid4())

# (method, path, required permission, json body)
PROTECTED: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("GET", "/api/users", "auth:users:read", None),
    ("POST", "/api/users", "auth:users:write", {"username": "x.y", "password": "Abcdefgh1!"}),
    ("GET", f"/api/users/{UID}", "auth:users:read", None),
    ("PATCH", f"/api/users/{UID}", "auth:users:write", {"full_name": "X"}),
    ("POST", f"/api/users/{UID}/deactivate", "auth:users:write", None),
    ("POST", f"/api/users/{UID}/activate", "auth:users:write", None),
    ("POST", f"/api/users/{UID}/unlock", "auth:users:write", None),
    ("POST", f"/api/users/{UID}/password/reset", "auth:users:write", {}),
    ("GET", f"/api/users/{UID}/roles", "auth:users:read", None),
    ("POST", f"/api/users/{UID}/roles", "auth:users:write", {"role": "client"}),
    ("DELETE", f"/api/users/{UID}/roles/client", "auth:users:write", None),
    ("GET", f"/api/users/{UID}/sessions", "auth:sessions:manage", None),
    ("DELETE", f"/api/users/{UID}/sessions", "auth:sessions:manage", None),
    ("DELETE", f"/api/users/{UID}/sessions/{SID}", "auth:sessions:manage", None),
    ("GET", "/api/roles", "auth:roles:read", None),
    ("POST", "/api/roles", "auth:roles:write", {"name": "r_x", "permissions": []}),
    ("GET", "/api/roles/client/permissions", "auth:roles:read", None),
    ("PUT", "/api/roles/client/permissions", "auth:roles:write", {"permissions": []}),
    ("GET", "/api/permissions", "auth:roles:read", None),
    ("GET", "/api/audit", "auth:audit:read", None),
    ("GET", "/api/clients", "auth:users:read", None),
    (
        "POST",
        "/api/clients",
        "auth:users:write",
        {"client_id": "abc", "name": "n", "permissions": ["payments:read"]},
    ),
    ("DELETE", "/api/clients/abc", "auth:users:write", None),
    ("POST", "/api/auth/keys/rotate", "auth:keys:rotate", None),
]


@pytest.fixture(scope="module")
async def client_only(api: Any, admin: dict[str, str]) -> dict[str, str]:
    """A signed-in user holding only the ``client`` role (no auth:* permission)."""
    await api.create_user(admin, "plain.client", "Client-Passw0rd!", ["client"])
    return dict(await api.headers_for("plain.client", "Client-Passw0rd!"))


@pytest.mark.parametrize(
    ("method", "path", "perm", "body"), PROTECTED, ids=[f"{m} {p}" for m, p, _, _ in PROTECTED]
)
async def test_no_token_is_401(
    api: Any, method: str, path: str, perm: str, body: dict[str, Any] | None
) -> None:
    r = await api.client.request(method, path, json=body)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path", "perm", "body"), PROTECTED, ids=[f"{m} {p}" for m, p, _, _ in PROTECTED]
)
async def test_wrong_role_is_403(
    api: Any, client_only: dict[str, str], method: str, path: str, perm: str, body: dict[str, Any] | None
) -> None:
    r = await api.client.request(method, path, json=body, headers=client_only)
    assert r.status_code == 403
    assert perm in r.json()["detail"]


async def test_password_change_needs_a_token(api: Any) -> None:
    r = await api.client.post("/api/auth/password", json={"current_password": "a", "new_password": "b"})
    assert r.status_code == 401


def test_every_route_is_covered() -> None:
    """A new protected route must be added to PROTECTED (public ones are listed here)."""
    from caisse_auth.main import create_app

    public = {
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/token/refresh",
        "/api/auth/token/validate",
        "/api/auth/oauth/token",
        "/api/auth/password",
        "/.well-known/jwks.json",
        "/health/live",
        "/health/ready",
        "/metrics",
    }
    app = create_app()
    routes = {
        (m, r.path)
        for r in app.routes
        if hasattr(r, "methods")
        for m in r.methods
        if m not in ("HEAD", "OPTIONS")
        and r.path not in public
        and not r.path.startswith(("/docs", "/openapi", "/redoc"))
    }
    covered = {
        (
            m,
            p.replace(UID, "{user_id}")
            .replace(SID, "{session_id}")
            .replace("/roles/client", "/roles/{role}")
            .replace("/clients/abc", "/clients/{client_id}"),
        )
        for m, p, _, _ in PROTECTED
    }
    covered |= {
        (m, p.replace("/roles/{role}/permissions", "/roles/{role_id}/permissions")) for m, p in covered
    }
    assert routes <= covered, routes - covered


INJECTIONS = [
    "' OR '1'='1",
    "admin'--",
    '"; DROP TABLE auth.user; --',
    "*)(uid=*))(|(uid=*",
    "<script>alert(1)</script>",
    "${jndi:ldap://x/a}",
    "../../etc/passwd",
    "\x00nul",
    "a" * 5000,
    "😀" * 60,
    "{{7*7}}",
    "\r\nSet-Cookie: x=y",
    "%00",
    "-1",
    "[]",
]


@pytest.fixture(scope="module")
async def lockout_target(api: Any, admin: dict[str, str]) -> str:
    """An account of its own for the hostile-password sign-ins: they lock it out, not ``root``."""
    await api.create_user(admin, "inj.target", "Target-Passw0rd!", ["client"])
    return "inj.target"


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injection_in_login_fields_is_4xx(api: Any, lockout_target: str, value: str) -> None:
    for body in ({"username": value, "password": "x"}, {"username": lockout_target, "password": value}):
        r = await api.client.post("/api/auth/login", json=body)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injection_in_token_endpoints_is_4xx_or_invalid(api: Any, value: str) -> None:
    r = await api.client.post("/api/auth/token/validate", json={"token": value})
    assert r.status_code in (200, 422)
    if r.status_code == 200:
        assert r.json()["valid"] is False
    for path, body in (
        ("/api/auth/token/refresh", {"refreshToken": value}),
        ("/api/auth/logout", {"token": value}),
    ):
        r = await api.client.post(path, json=body)
        assert 400 <= r.status_code < 500, (path, r.status_code)
    r = await api.client.post(
        "/api/auth/oauth/token",
        data={"grant_type": "client_credentials", "client_id": value, "client_secret": value},
    )
    assert 400 <= r.status_code < 500


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injection_in_admin_fields_is_4xx(api: Any, admin: dict[str, str], value: str) -> None:
    """Identifiers have a strict syntax: every hostile string is refused with a 4xx."""
    calls: list[tuple[str, str, Any]] = [
        ("POST", "/api/users", {"username": value, "password": "Abcdefgh1!x"}),
        ("POST", "/api/users", {"username": "inj.a", "email": value}),
        ("POST", "/api/users", {"username": "inj.b", "institution_id": value}),
        ("POST", "/api/users", {"username": "inj.c", "agency_id": value}),
        ("POST", "/api/users", {"username": "inj.d", "roles": [value]}),
        ("GET", f"/api/users/{quote(value, safe='')}", None),
        ("POST", "/api/roles", {"name": value, "permissions": []}),
        ("POST", "/api/roles", {"name": "inj_role", "permissions": [value]}),
        ("PUT", f"/api/roles/{quote(value, safe='')}/permissions", {"permissions": []}),
        ("POST", "/api/clients", {"client_id": value, "name": "n", "permissions": ["payments:read"]}),
        ("POST", f"/api/users/{UID}/roles", {"role": value}),
    ]
    for method, path, body in calls:
        r = await api.client.request(method, path, json=body, headers=admin)
        assert 400 <= r.status_code < 500, (method, path, body, r.status_code, r.text)


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injection_in_free_text_and_filters_is_never_5xx(
    api: Any, admin: dict[str, str], value: str
) -> None:
    """Free text is stored verbatim as data, filters are bound parameters: never a 500."""
    printable = all(ord(c) >= 32 for c in value) and len(value) <= 200
    r = await api.client.post(
        "/api/users",
        headers=admin,
        json={"username": f"free.{uuid.uuid4().hex[:8]}", "full_name": value, "password": value},
    )
    assert r.status_code < 500
    if r.status_code == 201:
        assert r.json()["full_name"] == value  # stored as data, not interpreted
    else:
        assert not printable or r.json()["code"] == "weak_password"
    for params in ({"role": value}, {"username": value}, {"action": value, "since": value}):
        path = "/api/users" if "role" in params else "/api/audit"
        r = await api.client.get(path, params=params, headers=admin)
        # a NUL in the query is refused by the shared request guard before any route runs
        assert r.status_code in ((400,) if "\x00" in value else (200, 422)), (path, params, r.status_code)
        if r.status_code == 200:
            assert r.json() == [] or path == "/api/audit"


async def test_malformed_json_is_400(api: Any) -> None:
    r = await api.client.post(
        "/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
