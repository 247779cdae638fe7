"""Sign-in: same error for unknown user and wrong password, lockout, rate limit, inactive users."""

from __future__ import annotations

from typing import Any

import httpx

PASSWORD = "Agent-Passw0rd!"


async def _login(api: Any, username: str, password: str, **headers: str) -> Any:
    return await api.client.post(
        "/api/auth/login", json={"username": username, "password": password}, headers=headers
    )


async def test_login_happy_path_returns_auth_result(api: Any, admin: dict[str, str]) -> None:
    await api.create_user(
        admin, "awa.agent", PASSWORD, ["sfd_agent"], institution_id="sfd-1", email="awa@example.org"
    )
    r = await _login(api, "Awa.Agent", PASSWORD)  # usernames are case-insensitive
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert body["user"]["username"] == "awa.agent"
    assert body["user"]["roles"] == ["sfd_agent"]
    assert "password_hash" not in body["user"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    result = (await api.client.post("/api/auth/token/validate", json={"token": body["token"]})).json()
    assert result["institution_id"] == "sfd-1"
    assert "payments:read" in result["permissions"]


async def test_unknown_user_and_wrong_password_get_the_same_error(api: Any, admin: dict[str, str]) -> None:
    await api.create_user(admin, "same.error", PASSWORD, ["client"])
    wrong = await _login(api, "same.error", "Wrong-Passw0rd!")
    unknown = await _login(api, "nobody.here", "Wrong-Passw0rd!")
    assert wrong.status_code == unknown.status_code == 401
    strip = {"instance"}
    assert {k: v for k, v in wrong.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }


async def test_lockout_after_repeated_failures_then_admin_unlock(api: Any, admin: dict[str, str]) -> None:
    user = await api.create_user(admin, "locked.out", PASSWORD, ["client"])
    for _ in range(api.settings.max_failed_logins):
        assert (await _login(api, "locked.out", "Wrong-Passw0rd!")).status_code == 401
    r = await _login(api, "locked.out", PASSWORD)  # right password, but locked
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    state = (await api.client.get(f"/api/users/{user['id']}", headers=admin)).json()
    assert state["locked_until"] is not None
    r = await api.client.post(f"/api/users/{user['id']}/unlock", headers=admin)
    assert r.status_code == 200
    assert (await _login(api, "locked.out", PASSWORD)).status_code == 200


async def test_unknown_username_is_throttled_like_a_known_one(api: Any) -> None:
    for _ in range(api.settings.max_failed_logins):
        assert (await _login(api, "ghost.user", "Wrong-Passw0rd!")).status_code == 401
    assert (await _login(api, "ghost.user", "Wrong-Passw0rd!")).status_code == 429


async def test_success_resets_failure_count(api: Any, admin: dict[str, str]) -> None:
    await api.create_user(admin, "reset.count", PASSWORD, ["client"])
    for _ in range(api.settings.max_failed_logins - 1):
        await _login(api, "reset.count", "Wrong-Passw0rd!")
    assert (await _login(api, "reset.count", PASSWORD)).status_code == 200
    for _ in range(api.settings.max_failed_logins - 1):
        await _login(api, "reset.count", "Wrong-Passw0rd!")
    assert (await _login(api, "reset.count", PASSWORD)).status_code == 200


async def test_inactive_user_cannot_sign_in(api: Any, admin: dict[str, str]) -> None:
    user = await api.create_user(admin, "gone.user", PASSWORD, ["client"])
    await api.client.post(f"/api/users/{user['id']}/deactivate", headers=admin)
    r = await _login(api, "gone.user", PASSWORD)
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_credentials"


async def test_failures_are_audited_without_the_password(api: Any, admin: dict[str, str]) -> None:
    await _login(api, "audit.me", "Secret-Guess-123")
    rows = (await api.client.get("/api/audit", headers=admin, params={"username": "audit.me"})).json()
    assert rows[0]["action"] == "LOGIN_FAILED"
    assert rows[0]["result"] == "failure"
    assert rows[0]["ip"] == "127.0.0.1"
    assert "Secret-Guess-123" not in str(rows)


async def test_rate_limit_per_client_address(settings_for: Any, api_for: Any) -> None:
    # The test client's peer (127.0.0.1) plays the trusted reverse proxy, which appends the
    # address it saw (203.0.113.9) to whatever X-Forwarded-For the client wrote itself.
    settings = await settings_for(ip_max_attempts=3, trusted_proxies=["127.0.0.0/8"])
    async with api_for(settings) as other:
        for i in range(3):
            spoofed = {"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.9"}
            assert (await _login(other, f"user{i}", "x", **spoofed)).status_code == 401
        r = await _login(other, "user9", "x", **{"X-Forwarded-For": "198.51.100.77, 203.0.113.9"})
        assert r.status_code == 429  # a new first hop of its own choosing does not help
        assert r.json()["code"] == "login_throttled"
        # nor does its own header line when the proxy appends a second line instead of a hop
        lines = [("X-Forwarded-For", "198.51.100.78"), ("X-Forwarded-For", "203.0.113.9")]
        r = await other.client.post("/api/auth/login", json={"username": "u", "password": "x"}, headers=lines)
        assert r.status_code == 429
        r = await _login(other, "user9", "x", **{"X-Forwarded-For": "203.0.113.9, 203.0.113.10"})
        assert r.status_code == 401  # another client behind the same proxy is not affected


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(settings_for: Any, api_for: Any) -> None:
    settings = await settings_for(ip_max_attempts=3, trusted_proxies=["10.0.0.0/8"])
    async with api_for(settings) as other:
        transport = httpx.ASGITransport(app=other.app, client=("192.0.2.50", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as direct:
            for i in range(4):
                r = await direct.post(
                    "/api/auth/login",
                    json={"username": f"user{i}", "password": "x"},
                    headers={"X-Forwarded-For": f"203.0.113.{i}"},
                )
            assert r.status_code == 429  # keyed on the peer, whatever it claims to forward
