"""HTTP tests of every endpoint: permissions (401/403), scoping, validation, state machine."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from caisse_collection.main import create_app
from caisse_shared import permissions as P
from caisse_shared.db import Database

ALL = [v for k, v in vars(P).items() if k.startswith("COLLECTION_")]
AGENT_PERMS = [
    P.COLLECTION_ACTIONS_READ,
    P.COLLECTION_ACTIONS_WRITE,
    P.COLLECTION_CASES_READ,
    P.COLLECTION_CASES_WRITE,
    P.COLLECTION_ASSIGNMENTS_READ,
    P.COLLECTION_PERFORMANCE_READ,
    P.COLLECTION_AGENTS_READ,
]
INST = "SFD1"


@asynccontextmanager
async def _service(
    pg: Any, token_factory: Any, service_dir: Any, settings_factory: Any
) -> AsyncIterator[Any]:
    """The app (no background workers) on a fresh database, and an HTTP client on it."""
    url = await pg.migrated_database(service_dir)
    app = create_app(settings_factory(url, run_background_workers=False), verifier=token_factory.verifier())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client, app.state.database
    await app.state.database.dispose()


async def _world(client: httpx.AsyncClient, db: Database, tf: Any, seed: Any) -> dict[str, Any]:
    """An institution of the caller's own: a team, two agents and three open cases (unique CIFs)."""
    run = uuid.uuid4().hex[:8]
    inst = f"SFD-{run}"
    mgr = tf.headers(*ALL, sub="mgr", institution_id=inst)
    resp = await client.post("/api/teams", json={"name": "Recouvrement Nord"}, headers=mgr)
    assert resp.status_code == 201, resp.text
    team = resp.json()
    agents = []
    for i in (1, 2):
        body = {"code": f"AG{i}", "name": f"Agent {i}", "user_id": f"user-{i}", "team_id": team["id"]}
        resp = await client.post("/api/agents", headers=mgr, json=body)
        assert resp.status_code == 201, resp.text
        agents.append(resp.json())
    cifs = [f"{c}-{run}" for c in ("C1", "C2", "C3")]
    for cif in cifs:
        await seed(db, cif, dpd=15, institution=inst)
    return {
        "client": client,
        "mgr": mgr,
        "team": team,
        "agents": agents,
        "cifs": cifs,
        "db": db,
        "agent1": tf.headers(*AGENT_PERMS, sub="user-1", institution_id=inst),
        "agent2": tf.headers(*AGENT_PERMS, sub="user-2", institution_id=inst),
        "other_inst": tf.headers(*ALL, sub="x", institution_id="SFD2"),
        "tf": tf,
    }


@pytest.fixture(scope="module")
async def service(pg: Any, token_factory: Any, service_dir: Any, settings_factory: Any) -> AsyncIterator[Any]:
    """One app and database for the module; each test makes its own institution in it."""
    async with _service(pg, token_factory, service_dir, settings_factory) as s:
        yield s


@pytest.fixture
async def env(service: Any, token_factory: Any, seed: Any) -> dict[str, Any]:
    """This test's own institution, team, two agents and three cases, in the module's database."""
    client, db = service
    return await _world(client, db, token_factory, seed)


ENDPOINTS = [
    ("GET", "/api/agents", P.COLLECTION_AGENTS_READ, None),
    ("POST", "/api/agents", P.COLLECTION_AGENTS_WRITE, {"code": "Z", "name": "Z"}),
    ("PUT", "/api/agents/00000000-0000-0000-0000-000000000000", P.COLLECTION_AGENTS_WRITE, {}),
    (
        "GET",
        "/api/agents/00000000-0000-0000-0000-000000000000/performance",
        P.COLLECTION_PERFORMANCE_READ,
        None,
    ),
    ("GET", "/api/agents/00000000-0000-0000-0000-000000000000/workload", P.COLLECTION_AGENTS_READ, None),
    ("GET", "/api/teams", P.COLLECTION_AGENTS_READ, None),
    ("POST", "/api/teams", P.COLLECTION_AGENTS_WRITE, {"name": "T"}),
    ("GET", "/api/actions/customer/C1", P.COLLECTION_ACTIONS_READ, None),
    ("GET", "/api/actions/loan/ACC-C1", P.COLLECTION_ACTIONS_READ, None),
    ("POST", "/api/actions", P.COLLECTION_ACTIONS_WRITE, {"cif": "C1", "action_type": "CALL"}),
    (
        "PUT",
        "/api/actions/00000000-0000-0000-0000-000000000000/result",
        P.COLLECTION_ACTIONS_WRITE,
        {"result": "CONTACTED"},
    ),
    (
        "GET",
        "/api/assignments/agent/00000000-0000-0000-0000-000000000000",
        P.COLLECTION_ASSIGNMENTS_READ,
        None,
    ),
    ("GET", "/api/assignments/customer/C1", P.COLLECTION_ASSIGNMENTS_READ, None),
    ("POST", "/api/assignments", P.COLLECTION_ASSIGNMENTS_WRITE, {}),
    ("PUT", "/api/assignments/00000000-0000-0000-0000-000000000000", P.COLLECTION_ASSIGNMENTS_WRITE, {}),
    ("POST", "/api/assignments/bulk", P.COLLECTION_ASSIGNMENTS_WRITE, {}),
    ("POST", "/api/assignments/auto", P.COLLECTION_ASSIGNMENTS_WRITE, {}),
    ("GET", "/api/cases/customer/C1", P.COLLECTION_CASES_READ, None),
    ("GET", "/api/cases/customer/C1/summary", P.COLLECTION_CASES_READ, None),
    ("POST", "/api/cases", P.COLLECTION_CASES_WRITE, {}),
    ("GET", "/api/strategies", P.COLLECTION_CASES_READ, None),
    ("POST", "/api/strategies", P.COLLECTION_STRATEGIES_WRITE, {}),
    ("GET", "/api/tasks/agent/00000000-0000-0000-0000-000000000000", P.COLLECTION_CASES_READ, None),
    ("POST", "/api/jobs/run", P.COLLECTION_STRATEGIES_WRITE, None),
    (
        "GET",
        "/api/teams/00000000-0000-0000-0000-000000000000/performance",
        P.COLLECTION_PERFORMANCE_READ,
        None,
    ),
]


@pytest.mark.parametrize(("method", "path", "perm", "body"), ENDPOINTS)
async def test_401_and_403(
    service: Any, token_factory: Any, method: str, path: str, perm: str, body: Any
) -> None:
    client: httpx.AsyncClient = service[0]  # refused before any row is read: no world needed
    assert (await client.request(method, path, json=body)).status_code == 401
    others = [p for p in ALL if p != perm]
    resp = await client.request(
        method, path, json=body, headers=token_factory.headers(*others, institution_id=INST)
    )
    assert resp.status_code == 403
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_cases_opened_and_auto_assigned_balanced(env: dict[str, Any]) -> None:
    c, mgr = env["client"], env["mgr"]
    counts = []
    for agent in env["agents"]:
        rows = (await c.get(f"/api/assignments/agent/{agent['id']}", headers=mgr)).json()
        counts.append(len(rows))
        assert all(r["method"] == "AUTO" for r in rows)
    assert sorted(counts) == [1, 2]
    case = (await c.get(f"/api/cases/customer/{env['cifs'][0]}/summary", headers=mgr)).json()
    assert case["status"] == "NEW"
    assert case["reminder_level"] == "FRIENDLY"
    assert case["loans"][0]["overdue_amount"] == 50_000


async def _owner(env: dict[str, Any], cif: str) -> tuple[dict[str, str], dict[str, str]]:
    """(headers of the agent holding the customer, headers of the other agent)."""
    resp = await env["client"].get(f"/api/cases/customer/{cif}/summary", headers=env["mgr"])
    case = resp.json()
    first = case["agent_id"] == env["agents"][0]["id"]
    return (env["agent1"], env["agent2"]) if first else (env["agent2"], env["agent1"])


async def test_agent_scope_own_customers_only(env: dict[str, Any]) -> None:
    c, c2 = env["client"], env["cifs"][1]
    owner, other = await _owner(env, c2)
    assert (await c.get(f"/api/cases/customer/{c2}", headers=owner)).status_code == 200
    assert (await c.get(f"/api/cases/customer/{c2}", headers=other)).status_code == 403
    resp = await c.post("/api/actions", headers=other, json={"cif": c2, "action_type": "CALL"})
    assert resp.status_code == 403
    assert (await c.get(f"/api/cases/customer/{c2}", headers=env["other_inst"])).status_code == 404
    me = env["agents"][0] if owner is env["agent1"] else env["agents"][1]
    them = env["agents"][1] if me is env["agents"][0] else env["agents"][0]
    assert (await c.get(f"/api/agents/{them['id']}/performance", headers=owner)).status_code == 403
    assert (await c.get(f"/api/agents/{me['id']}/performance", headers=owner)).status_code == 200


async def test_record_call_and_promise_flow(env: dict[str, Any]) -> None:
    c, c1 = env["client"], env["cifs"][0]
    owner, _ = await _owner(env, c1)
    call = await c.post(
        "/api/actions",
        headers=owner,
        json={"cif": c1, "action_type": "CALL", "account_number": f"ACC-{c1}", "notes": "rappel"},
    )
    assert call.status_code == 201, call.text
    res = await c.put(f"/api/actions/{call.json()['id']}/result", headers=owner, json={"result": "CONTACTED"})
    assert res.json()["result"] == "CONTACTED"
    due = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    promise = await c.post(
        "/api/actions",
        headers=owner,
        json={
            "cif": c1,
            "action_type": "PROMISE_TO_PAY",
            "promise_amount": 20_000,
            "promise_currency": "XOF",
            "promise_date": due,
        },
    )
    assert promise.status_code == 201, promise.text
    assert promise.json()["promise_status"] == "PENDING"
    history = (await c.get(f"/api/cases/customer/{c1}", headers=owner)).json()
    assert [h["to_status"] for h in history] == ["NEW", "IN_PROGRESS", "PROMISE"]
    by_loan = (await c.get(f"/api/actions/loan/ACC-{c1}", headers=owner)).json()
    assert [a["action_type"] for a in by_loan] == ["CALL"]
    by_cif = (await c.get(f"/api/actions/customer/{c1}", headers=owner)).json()
    assert {a["action_type"] for a in by_cif} == {"CALL", "PROMISE_TO_PAY"}


@pytest.mark.parametrize(
    "body",
    [
        {"action_type": "PROMISE_TO_PAY"},
        {
            "action_type": "PROMISE_TO_PAY",
            "promise_amount": 10.5,
            "promise_currency": "XOF",
            "promise_date": "2099-01-01",
        },
        {
            "action_type": "PROMISE_TO_PAY",
            "promise_amount": 100,
            "promise_currency": "EUR",
            "promise_date": date.today().isoformat(),
        },
        {
            "action_type": "PROMISE_TO_PAY",
            "promise_amount": 100,
            "promise_currency": "XOF",
            "promise_date": "2020-01-01",
        },
        {"action_type": "TELEPATHY"},
        {"action_type": "CALL", "account_number": "NOT-HIS"},
        {"action_type": "CALL", "unknown": 1},
    ],
)
async def test_bad_actions_are_4xx(env: dict[str, Any], body: dict[str, Any]) -> None:
    resp = await env["client"].post("/api/actions", headers=env["mgr"], json={**body, "cif": env["cifs"][2]})
    assert resp.status_code in (400, 422), resp.text


async def test_malformed_json_is_400(env: dict[str, Any]) -> None:
    resp = await env["client"].post(
        "/api/actions", content=b"{nope", headers={**env["mgr"], "content-type": "application/json"}
    )
    assert resp.status_code == 400


async def test_case_state_machine_via_api(env: dict[str, Any]) -> None:
    c, mgr, c3 = env["client"], env["mgr"], env["cifs"][2]
    bad = await c.post(
        "/api/cases",
        headers=mgr,
        json={"cif": c3, "action": "STATUS_CHANGE", "to_status": "BROKEN_PROMISE"},
    )
    assert bad.status_code == 409
    assert bad.json()["code"] == "invalid_status_transition"
    ok = await c.post(
        "/api/cases",
        headers=mgr,
        json={"cif": c3, "action": "STATUS_CHANGE", "to_status": "LEGAL", "note": "dossier"},
    )
    assert ok.status_code == 201
    assert (ok.json()["from_status"], ok.json()["to_status"]) == ("NEW", "LEGAL")
    back = await c.post(
        "/api/cases", headers=mgr, json={"cif": c3, "action": "STATUS_CHANGE", "to_status": "IN_PROGRESS"}
    )
    assert back.status_code == 409
    note = await c.post("/api/cases", headers=mgr, json={"cif": c3, "action": "NOTE", "note": "appel avocat"})
    assert note.status_code == 201
    assert (
        await c.post("/api/cases", headers=mgr, json={"cif": "NOPE", "action": "NOTE"})
    ).status_code == 404


async def test_manual_reassignment_keeps_history(env: dict[str, Any]) -> None:
    c, mgr, c2 = env["client"], env["mgr"], env["cifs"][1]
    case = (await c.get(f"/api/cases/customer/{c2}/summary", headers=mgr)).json()
    target = next(a for a in env["agents"] if a["id"] != case["agent_id"])
    current = (await c.get(f"/api/assignments/customer/{c2}", headers=mgr)).json()[0]
    moved = await c.put(
        f"/api/assignments/{current['id']}", headers=mgr, json={"agent_id": target["id"], "reason": "congé"}
    )
    assert moved.status_code == 200, moved.text
    history = (await c.get(f"/api/assignments/customer/{c2}", headers=mgr)).json()
    assert [h["active"] for h in history] == [True, False]
    assert history[0]["agent_id"] == target["id"]
    again = await c.put(f"/api/assignments/{current['id']}", headers=mgr, json={"agent_id": target["id"]})
    assert again.status_code == 422  # ended assignments cannot be moved
    same = await c.post("/api/assignments", headers=mgr, json={"cif": c2, "agent_id": target["id"]})
    assert same.json()["id"] == history[0]["id"]  # no-op, no new history row


async def test_bulk_assign_and_workload(env: dict[str, Any]) -> None:
    c, mgr = env["client"], env["mgr"]
    agent = env["agents"][0]
    resp = await c.post(
        "/api/assignments/bulk", headers=mgr, json={"cifs": env["cifs"], "agent_id": agent["id"]}
    )
    assert resp.status_code == 201
    w = (await c.get(f"/api/agents/{agent['id']}/workload", headers=mgr)).json()
    assert w["customers"] == 3
    assert w["outstanding_amount"] == 1_500_000
    assert (await c.post("/api/assignments/bulk", headers=mgr, json={"cifs": []})).status_code == 422


async def test_agents_and_teams_crud(env: dict[str, Any]) -> None:
    c, mgr = env["client"], env["mgr"]
    dup = await c.post("/api/agents", headers=mgr, json={"code": "AG1", "name": "Dup"})
    assert dup.status_code == 409
    agent = env["agents"][1]
    upd = await c.put(
        f"/api/agents/{agent['id']}", headers=mgr, json={"status": "ON_LEAVE", "max_workload": 50}
    )
    assert (upd.json()["status"], upd.json()["max_workload"]) == ("ON_LEAVE", 50)
    listed = (await c.get("/api/agents", params={"status": "ON_LEAVE"}, headers=mgr)).json()
    assert [a["code"] for a in listed] == ["AG2"]
    assert (await c.get("/api/agents", headers=env["other_inst"])).json() == []
    other = await c.put(f"/api/agents/{agent['id']}", headers=env["other_inst"], json={})
    assert other.status_code == 404
    assert (
        await c.post("/api/teams", headers=mgr, json={"name": "X", "buckets": ["7-8"]})
    ).status_code == 422
    teams = (await c.get("/api/teams", headers=mgr)).json()
    assert [t["name"] for t in teams] == ["Recouvrement Nord"]
    await c.put(f"/api/agents/{agent['id']}", headers=mgr, json={"status": "ACTIVE"})


@pytest.fixture
async def own_database_env(
    pg: Any, token_factory: Any, service_dir: Any, settings_factory: Any, seed: Any
) -> AsyncIterator[dict[str, Any]]:
    """A world on a database of its own: the scheduled jobs run over every institution."""
    async with _service(pg, token_factory, service_dir, settings_factory) as (client, db):
        yield await _world(client, db, token_factory, seed)


async def test_strategies_tasks_and_performance(own_database_env: dict[str, Any]) -> None:
    env = own_database_env
    c, mgr, c1 = env["client"], env["mgr"], env["cifs"][0]
    owner, _ = await _owner(env, c1)
    call = await c.post("/api/actions", headers=owner, json={"cif": c1, "action_type": "CALL"})
    assert call.status_code == 201, call.text
    due = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    promise = {"promise_amount": 20_000, "promise_currency": "XOF", "promise_date": due}
    kept = await c.post(
        "/api/actions", headers=owner, json={"cif": c1, "action_type": "PROMISE_TO_PAY", **promise}
    )
    assert kept.status_code == 201, kept.text
    rule = await c.post(
        "/api/strategies",
        headers=mgr,
        json={
            "name": "gros encours",
            "priority": 99,
            "next_action": "VISIT",
            "reminder_level": "FIRM",
            "rank": 1,
            "min_outstanding": 400_000,
        },
    )
    assert rule.status_code == 201
    assert (
        await c.post(
            "/api/strategies",
            headers=mgr,
            json={
                "name": "bad",
                "priority": 1,
                "next_action": "SMS",
                "reminder_level": "FRIENDLY",
                "min_dpd": 10,
                "max_dpd": 5,
            },
        )
    ).status_code == 422
    run = await c.post("/api/jobs/run", headers=mgr)
    assert run.json()["tasks_created"] == 3  # one per open assigned case
    tasks = [
        t
        for agent in env["agents"]
        for t in (await c.get(f"/api/tasks/agent/{agent['id']}", headers=mgr)).json()
    ]
    assert sorted(t["cif"] for t in tasks) == sorted(env["cifs"])
    assert {t["action_type"] for t in tasks} == {"VISIT"}
    assert (await c.post("/api/jobs/run", headers=mgr)).json()["tasks_created"] == 0
    agent = env["agents"][0]
    perf = await c.get(f"/api/agents/{agent['id']}/performance", headers=mgr)
    assert perf.status_code == 200
    team = await c.get(f"/api/teams/{env['team']['id']}/performance", headers=mgr)
    assert team.json()["contacts"] == 2  # the call and the promise
    assert team.json()["promises"] == 1
    bad = await c.get(
        f"/api/agents/{agent['id']}/performance",
        headers=mgr,
        params={"from": "2026-02-01", "to": "2026-01-01"},
    )
    assert bad.status_code == 422
