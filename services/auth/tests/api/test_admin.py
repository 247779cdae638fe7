"""Administration: users, roles, sessions, passwords, clients, audit; institution scoping."""

from __future__ import annotations

from typing import Any

PASSWORD = "Staff-Passw0rd!"


async def test_user_lifecycle(api: Any, admin: dict[str, str]) -> None:
    user = await api.create_user(
        admin, "life.cycle", PASSWORD, ["sfd_agent"], institution_id="sfd-7", full_name="Life Cycle"
    )
    uid = user["id"]
    got = (await api.client.get(f"/api/users/{uid}", headers=admin)).json()
    assert got["full_name"] == "Life Cycle"
    assert got["source"] == "local"
    r = await api.client.patch(
        f"/api/users/{uid}", headers=admin, json={"email": "lc@example.org", "agency_id": "ag-1"}
    )
    assert r.status_code == 200
    assert r.json()["email"] == "lc@example.org"
    assert r.json()["agency_id"] == "ag-1"
    listed = (
        await api.client.get("/api/users", headers=admin, params={"role": "sfd_agent", "status": "active"})
    ).json()
    assert uid in [u["id"] for u in listed]
    r = await api.client.post(f"/api/users/{uid}/deactivate", headers=admin)
    assert r.json()["status"] == "inactive"
    listed = (await api.client.get("/api/users", headers=admin, params={"status": "inactive"})).json()
    assert uid in [u["id"] for u in listed]
    r = await api.client.post(f"/api/users/{uid}/activate", headers=admin)
    assert r.json()["status"] == "active"


async def test_generated_password_is_returned_once(api: Any, admin: dict[str, str]) -> None:
    r = await api.client.post("/api/users", headers=admin, json={"username": "gen.pass", "roles": ["client"]})
    assert r.status_code == 201
    temp = r.json()["temporary_password"]
    assert r.json()["must_change_password"] is True
    assert (await api.login("gen.pass", temp))["success"] is True
    again = (await api.client.get(f"/api/users/{r.json()['id']}", headers=admin)).json()
    assert "temporary_password" not in again


async def test_duplicate_username_and_weak_password(api: Any, admin: dict[str, str]) -> None:
    await api.create_user(admin, "dup.user", PASSWORD, [])
    r = await api.client.post(
        "/api/users", headers=admin, json={"username": "DUP.user", "password": PASSWORD}
    )
    assert r.status_code == 409
    r = await api.client.post(
        "/api/users", headers=admin, json={"username": "weak.pass", "password": "short"}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "weak_password"


async def test_roles_assign_and_remove(api: Any, admin: dict[str, str]) -> None:
    user = await api.create_user(admin, "role.holder", PASSWORD, ["client"])
    uid = user["id"]
    r = await api.client.post(f"/api/users/{uid}/roles", headers=admin, json={"role": "finance"})
    assert sorted(r.json()["roles"]) == ["client", "finance"]
    roles = (await api.client.get(f"/api/users/{uid}/roles", headers=admin)).json()
    finance = next(x for x in roles if x["name"] == "finance")
    assert "movements:request:validate" in finance["permissions"]
    token = (await api.login("role.holder", PASSWORD))["access_token"]
    claims = (await api.client.post("/api/auth/token/validate", json={"token": token})).json()
    assert "movements:limits:write" in claims["permissions"]
    r = await api.client.delete(f"/api/users/{uid}/roles/finance", headers=admin)
    assert r.json()["roles"] == ["client"]
    r = await api.client.delete(f"/api/users/{uid}/roles/finance", headers=admin)
    assert r.status_code == 404
    r = await api.client.post(f"/api/users/{uid}/roles", headers=admin, json={"role": "nope"})
    assert r.status_code == 404


async def test_sfd_admin_is_scoped_to_its_institution(api: Any, admin: dict[str, str]) -> None:
    await api.create_user(admin, "sfd.boss", PASSWORD, ["sfd_admin"], institution_id="sfd-a")
    other = await api.create_user(admin, "other.agent", PASSWORD, ["sfd_agent"], institution_id="sfd-b")
    boss = await api.headers_for("sfd.boss", PASSWORD)
    r = await api.client.post(
        "/api/users",
        headers=boss,
        json={
            "username": "mine.agent",
            "password": PASSWORD,
            "roles": ["sfd_agent"],
            "institution_id": "sfd-b",
        },
    )
    assert r.status_code == 403  # not silently created in the creator's own institution
    assert r.json()["code"] == "institution_out_of_scope"
    assert r.headers["content-type"].startswith("application/problem+json")
    for named in ({"institution_id": "sfd-a"}, {}):  # its own, or none: created in its own
        r = await api.client.post(
            "/api/users",
            headers=boss,
            json={"username": f"mine.{len(named)}", "password": PASSWORD, "roles": ["sfd_agent"], **named},
        )
        assert r.status_code == 201, r.text
        assert r.json()["institution_id"] == "sfd-a"
    listed = (await api.client.get("/api/users", headers=boss)).json()
    assert {u["institution_id"] for u in listed} == {"sfd-a"}
    assert (await api.client.get(f"/api/users/{other['id']}", headers=boss)).status_code == 404
    r = await api.client.post(f"/api/users/{other['id']}/deactivate", headers=boss)
    assert r.status_code == 404
    r = await api.client.post(
        "/api/users",
        headers=boss,
        json={"username": "escalate", "password": PASSWORD, "roles": ["platform_admin"]},
    )
    assert r.status_code == 403
    assert r.json()["code"] == "privilege_escalation"


async def test_sessions_list_and_revoke(api: Any, admin: dict[str, str]) -> None:
    user = await api.create_user(admin, "multi.device", PASSWORD, ["client"])
    uid = user["id"]
    a = await api.login("multi.device", PASSWORD)
    b = await api.login("multi.device", PASSWORD)
    listed = (await api.client.get(f"/api/users/{uid}/sessions", headers=admin)).json()
    assert {s["id"] for s in listed} == {a["session_id"], b["session_id"]}
    r = await api.client.delete(f"/api/users/{uid}/sessions/{a['session_id']}", headers=admin)
    assert r.json() == {"revoked": 1}
    check = await api.client.post("/api/auth/token/validate", json={"token": a["token"]})
    assert check.json()["valid"] is False
    check = await api.client.post("/api/auth/token/validate", json={"token": b["token"]})
    assert check.json()["valid"] is True
    r = await api.client.delete(f"/api/users/{uid}/sessions", headers=admin)
    assert r.json() == {"revoked": 1}
    check = await api.client.post("/api/auth/token/validate", json={"token": b["token"]})
    assert check.json()["valid"] is False
    ended = (
        await api.client.get(f"/api/users/{uid}/sessions", headers=admin, params={"include_ended": True})
    ).json()
    assert {s["revoked_reason"] for s in ended} == {"revoked"}


async def test_change_own_password_ends_sessions(api: Any, admin: dict[str, str]) -> None:
    await api.create_user(admin, "pw.changer", PASSWORD, ["client"])
    headers = await api.headers_for("pw.changer", PASSWORD)
    r = await api.client.post(
        "/api/auth/password",
        headers=headers,
        json={"current_password": "Wrong-Passw0rd!", "new_password": "New-Passw0rd!!"},
    )
    assert r.status_code == 401
    r = await api.client.post(
        "/api/auth/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "New-Passw0rd!!"},
    )
    assert r.status_code == 200
    assert (await api.client.get("/api/auth/password", headers=headers)).status_code == 405
    r = await api.client.post(
        "/api/auth/password",
        headers=headers,
        json={"current_password": "New-Passw0rd!!", "new_password": "Other-Passw0rd!!"},
    )
    assert r.status_code == 401  # the old session ended with the change
    assert (await api.login("pw.changer", "New-Passw0rd!!"))["success"] is True


async def test_admin_password_reset(api: Any, admin: dict[str, str]) -> None:
    user = await api.create_user(admin, "forgot.pw", PASSWORD, ["client"])
    r = await api.client.post(f"/api/users/{user['id']}/password/reset", headers=admin, json={})
    temp = r.json()["temporary_password"]
    assert (await api.login("forgot.pw", temp))["user"]["must_change_password"] is True
    r = await api.client.post(
        f"/api/users/{user['id']}/password/reset", headers=admin, json={"new_password": "Chosen-Passw0rd!"}
    )
    assert r.json() == {"temporary_password": None}
    assert (await api.login("forgot.pw", "Chosen-Passw0rd!"))["success"] is True


async def test_roles_and_permissions(api: Any, admin: dict[str, str]) -> None:
    roles = (await api.client.get("/api/roles", headers=admin)).json()
    names = {r["name"] for r in roles}
    assert {
        "platform_admin",
        "sfd_admin",
        "sfd_supervisor",
        "sfd_agent",
        "client",
        "operation",
        "finance",
        "admin",
    } <= names
    agent = next(r for r in roles if r["name"] == "sfd_agent")
    by_id = (await api.client.get(f"/api/roles/{agent['id']}/permissions", headers=admin)).json()
    by_name = (await api.client.get("/api/roles/sfd_agent/permissions", headers=admin)).json()
    assert by_id == by_name
    assert {p["code"] for p in by_id} == set(agent["permissions"])
    assert all(p["description"] for p in by_id)
    catalogue = (await api.client.get("/api/permissions", headers=admin)).json()
    assert "movements:credit:create" in {p["code"] for p in catalogue}
    assert (await api.client.get("/api/roles/none/permissions", headers=admin)).status_code == 404


async def test_custom_role(api: Any, admin: dict[str, str]) -> None:
    r = await api.client.post(
        "/api/roles",
        headers=admin,
        json={"name": "teller", "description": "Guichetier", "permissions": ["payments:read"]},
    )
    assert r.status_code == 201
    r = await api.client.put(
        "/api/roles/teller/permissions",
        headers=admin,
        json={"permissions": ["payments:read", "payments:create"]},
    )
    assert r.json()["permissions"] == ["payments:create", "payments:read"]
    r = await api.client.put(
        "/api/roles/teller/permissions", headers=admin, json={"permissions": ["payments:fly"]}
    )
    assert r.status_code == 422
    r = await api.client.put(
        "/api/roles/client/permissions", headers=admin, json={"permissions": ["payments:read"]}
    )
    assert r.status_code == 409


async def test_audit_filters(api: Any, admin: dict[str, str]) -> None:
    await api.create_user(admin, "audited.one", PASSWORD, ["client"])
    await api.login("audited.one", PASSWORD)
    rows = (
        await api.client.get(
            "/api/audit", headers=admin, params={"username": "audited.one", "action": "LOGIN_SUCCESS"}
        )
    ).json()
    assert len(rows) == 1
    assert rows[0]["details"]["provider"] == "local"
    created = (
        await api.client.get(
            "/api/audit", headers=admin, params={"action": "USER_CREATED", "username": "audited.one"}
        )
    ).json()
    assert created[0]["actor"] is not None
    page = (await api.client.get("/api/audit", headers=admin, params={"limit": 2})).json()
    more = (
        await api.client.get("/api/audit", headers=admin, params={"limit": 2, "before_id": page[-1]["id"]})
    ).json()
    assert len(page) == 2
    assert more[0]["id"] < page[-1]["id"]
    none = (
        await api.client.get("/api/audit", headers=admin, params={"since": "2999-01-01T00:00:00Z"})
    ).json()
    assert none == []


async def test_client_credentials(api: Any, admin: dict[str, str]) -> None:
    r = await api.client.post(
        "/api/clients",
        headers=admin,
        json={
            "client_id": "mobile-money-agg",
            "name": "Aggregator",
            "permissions": ["payments:create", "payments:read"],
        },
    )
    assert r.status_code == 201
    secret = r.json()["client_secret"]
    r = await api.client.post(
        "/api/auth/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "mobile-money-agg",
            "client_secret": secret,
            "scope": "payments:create",
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["scope"] == "payments:create"
    result = (await api.client.post("/api/auth/token/validate", json={"token": token})).json()
    assert result["valid"] is True
    assert result["client_id"] == "mobile-money-agg"
    assert result["permissions"] == ["payments:create"]
    r = await api.client.post(
        "/api/auth/oauth/token",
        auth=("mobile-money-agg", "cs_wrong"),
        data={"grant_type": "client_credentials"},
    )
    assert r.status_code == 401
    r = await api.client.post(
        "/api/auth/oauth/token",
        auth=("mobile-money-agg", secret),
        data={"grant_type": "client_credentials", "scope": "auth:*"},
    )
    assert r.status_code == 401
    r = await api.client.post("/api/auth/oauth/token", data={"grant_type": "password"})
    assert r.status_code == 422
    listed = (await api.client.get("/api/clients", headers=admin)).json()
    assert "mobile-money-agg" in [c["client_id"] for c in listed]
    assert (await api.client.delete("/api/clients/mobile-money-agg", headers=admin)).json()["active"] is False
    result = (await api.client.post("/api/auth/token/validate", json={"token": token})).json()
    assert result["valid"] is False


async def test_scoped_admin_naming_another_institution_is_refused_everywhere(
    api: Any, admin: dict[str, str]
) -> None:
    await api.create_user(admin, "scope.boss", PASSWORD, ["sfd_admin"], institution_id="sfd-s")
    mine = await api.create_user(admin, "scope.agent", PASSWORD, ["sfd_agent"], institution_id="sfd-s")
    boss = await api.headers_for("scope.boss", PASSWORD)

    def out_of_scope(r: Any) -> None:
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "institution_out_of_scope"

    # moving a user out of the institution, or making it platform-wide
    for other in ("sfd-t", None):
        out_of_scope(
            await api.client.patch(f"/api/users/{mine['id']}", headers=boss, json={"institution_id": other})
        )
    r = await api.client.patch(
        f"/api/users/{mine['id']}", headers=boss, json={"institution_id": "sfd-s", "agency_id": "ag-2"}
    )
    assert r.status_code == 200 and r.json()["institution_id"] == "sfd-s"

    # an OAuth2 client for another institution
    client = {"name": "Partner", "permissions": ["payments:read"]}
    r = await api.client.post(
        "/api/clients", headers=boss, json={"client_id": "scope-other", "institution_id": "sfd-t", **client}
    )
    out_of_scope(r)
    for cid, named in (("scope-own", {"institution_id": "sfd-s"}), ("scope-none", {})):
        r = await api.client.post("/api/clients", headers=boss, json={"client_id": cid, **client, **named})
        assert r.status_code == 201, r.text
        assert r.json()["institution_id"] == "sfd-s"
    listed = (await api.client.get("/api/clients", headers=admin)).json()
    assert "scope-other" not in [c["client_id"] for c in listed]

    # a platform administrator still places users and clients anywhere
    r = await api.client.post(
        "/api/clients", headers=admin, json={"client_id": "scope-root", "institution_id": "sfd-t", **client}
    )
    assert r.status_code == 201 and r.json()["institution_id"] == "sfd-t"
