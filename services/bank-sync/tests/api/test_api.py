"""HTTP API: permissions, sync run/poll/409, customer search, loans, delinquency, events on Kafka."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from asgi_lifespan import LifespanManager
from caisse_bank_sync import synthetic
from caisse_bank_sync.config import Settings, SourceConfig
from caisse_bank_sync.main import create_app
from caisse_shared.events.registry import default_registry

SERVICE_DIR = Path(__file__).resolve().parents[2]
RUN, READ = "banksync:sync:run", "banksync:sync:read"
CUST, LOANS = "banksync:customers:read", "banksync:loans:read"
ALL = (RUN, READ, CUST, LOANS)


@pytest.fixture(scope="module")
async def env(pg, kafka_bootstrap, token_factory, tmp_path_factory):
    folder = tmp_path_factory.mktemp("extracts")
    synthetic.generate("T24", folder / "T24", customers=30, loans=45, seed=2, delinquent_ratio=0.3)
    url = await pg.migrated_database(SERVICE_DIR)
    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_enable_idempotence=False,
        log_json=False,
        sources={"T24": SourceConfig(path=folder / "T24"), "W4": SourceConfig(path=folder / "W4")},
    )
    app = create_app(settings, verifier=token_factory.verifier())
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield client, token_factory


async def _wait_job(client, tf, job_id: str) -> dict:
    # A deadline, not a number of polls: on a loaded 2-core CI runner a poll can take longer.
    deadline = asyncio.get_running_loop().time() + 60
    while asyncio.get_running_loop().time() < deadline:
        r = await client.get(f"/api/sync/jobs/{job_id}", headers=tf.headers(READ))
        if r.json()["status"] in ("COMPLETED", "FAILED"):
            return r.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"job did not finish within 60 s: {r.json()}")


@pytest.fixture(scope="module")
async def loaded(env):
    client, tf = env
    r = await client.post("/api/sync/run", json={"source": "T24"}, headers=tf.headers(RUN))
    assert r.status_code == 202, r.text
    job = await _wait_job(client, tf, r.json()["id"])
    assert job["status"] == "COMPLETED", job
    return job


@pytest.mark.parametrize(
    ("method", "path", "perm"),
    [
        ("GET", "/api/sync/status", READ),
        ("POST", "/api/sync/run", RUN),
        ("GET", f"/api/sync/jobs/{uuid.uuid4()}", READ),
        ("GET", "/api/customers", CUST),
        ("GET", "/api/customers/CIF00000001", CUST),
        ("GET", "/api/customers/CIF1/loans", LOANS),
        ("GET", "/api/customers/CIF1/collaterals", LOANS),
        ("GET", "/api/loans/delinquent", LOANS),
        ("GET", "/api/loans/LN1", LOANS),
    ],
)
async def test_every_endpoint_needs_a_token_and_its_permission(env, method, path, perm) -> None:
    client, tf = env
    body = {"json": {"source": "T24"}} if method == "POST" else {}
    assert (await client.request(method, path, **body)).status_code == 401
    others = [p for p in ALL if p != perm]
    r = await client.request(method, path, headers=tf.headers(*others), **body)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_run_returns_a_job_and_counts(env, loaded) -> None:
    assert loaded["entitiesCreated"] == loaded["entitiesProcessed"] > 0
    client, tf = env
    # other tests of the module run T24 jobs too: the status must show the latest, this one
    r = await client.post(
        "/api/sync/run", json={"source": "T24", "mode": "INCREMENTAL"}, headers=tf.headers(RUN)
    )
    assert r.status_code == 202, r.text
    job = await _wait_job(client, tf, r.json()["id"])
    r = await client.get("/api/sync/status", headers=tf.headers(READ))
    by_source = {s["sourceSystem"]: s for s in r.json()}
    assert by_source["T24"]["lastJob"]["id"] == job["id"]
    assert by_source["W4"]["lastJob"] is None


async def test_second_run_while_busy_is_409_and_bad_input_is_4xx(env, loaded) -> None:
    client, tf = env
    h = tf.headers(RUN)
    first = await client.post("/api/sync/run", json={"source": "T24", "mode": "INCREMENTAL"}, headers=h)
    second = await client.post("/api/sync/run", json={"source": "T24"}, headers=h)
    assert first.status_code == 202 and second.status_code == 409
    assert second.json()["code"] == "sync_already_running"
    await _wait_job(client, tf, first.json()["id"])
    assert (await client.post("/api/sync/run", json={"source": "XX"}, headers=h)).status_code == 422
    r = await client.post("/api/sync/run", json={"source": "LOS"}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "unknown_source"
    r = await client.post("/api/sync/run", json={"source": "T24", "entityType": "nope"}, headers=h)
    assert r.status_code == 422
    malformed = await client.post(
        "/api/sync/run", content=b"{", headers={**h, "content-type": "application/json"}
    )
    assert malformed.status_code == 400


async def test_customer_search_and_detail(env, loaded) -> None:
    client, tf = env
    h = tf.headers(CUST)
    c = synthetic.customer_row(4, seed=2)
    by_name = await client.get("/api/customers", params={"q": c["full_name"][:5]}, headers=h)
    assert by_name.status_code == 200 and c["cif"] in {x["cif"] for x in by_name.json()["items"]}
    by_id = await client.get("/api/customers", params={"q": c["id_number"]}, headers=h)
    assert [x["cif"] for x in by_id.json()["items"]] == [c["cif"]]
    detail = (await client.get(f"/api/customers/{c['cif']}", headers=h)).json()
    phone = detail["phones"][0]["number"]
    by_phone = await client.get("/api/customers", params={"q": phone}, headers=h)
    assert [x["cif"] for x in by_phone.json()["items"]] == [c["cif"]]
    page = await client.get("/api/customers", params={"limit": 5, "offset": 5, "sort": "-cif"}, headers=h)
    assert page.json()["total"] == 30 and len(page.json()["items"]) == 5
    assert page.json()["items"][0]["cif"] == synthetic.cif(24)
    bad = await client.get("/api/customers", params={"sort": "secret"}, headers=h)
    assert bad.status_code == 422
    assert (await client.get("/api/customers/NOPE", headers=h)).status_code == 404


async def test_institution_scope_hides_other_institutions(env, loaded) -> None:
    client, tf = env
    c = synthetic.customer_row(4, seed=2)
    own = tf.headers(CUST, LOANS, institution_id=c["institution_id"])
    other = tf.headers(CUST, LOANS, institution_id="INST-OTHER")
    assert (await client.get(f"/api/customers/{c['cif']}", headers=own)).status_code == 200
    assert (await client.get(f"/api/customers/{c['cif']}", headers=other)).status_code == 404
    r = await client.get("/api/loans/delinquent", headers=other)
    assert r.json()["total"] == 0


async def test_loans_and_delinquent_filters(env, loaded) -> None:
    client, tf = env
    h = tf.headers(LOANS)
    loan = synthetic.loan_row(3, 30, seed=2, delinquent_ratio=0.3)
    r = await client.get(f"/api/loans/{loan['account_number']}", headers=h)
    assert r.status_code == 200
    assert r.json()["outstandingPrincipal"] == int(loan["outstanding_principal"])
    cust = await client.get(f"/api/customers/{loan['cif']}/loans", headers=h)
    assert loan["account_number"] in {x["accountNumber"] for x in cust.json()["items"]}
    coll = await client.get(f"/api/customers/{synthetic.cif(0)}/collaterals", headers=h)
    assert coll.status_code == 200 and coll.json()["total"] >= 1
    d = (await client.get("/api/loans/delinquent", params={"dpd": 31, "limit": 500}, headers=h)).json()
    assert d["items"] and all(x["daysPastDue"] >= 31 for x in d["items"])
    assert all(x["delinquencyBucket"] != "CURRENT" for x in d["items"])
    none = await client.get("/api/loans/delinquent", params={"status": "CLOSED"}, headers=h)
    assert none.json()["total"] == 0
    assert (await client.get("/api/loans/delinquent", params={"dpd": -1}, headers=h)).status_code == 422
    assert (await client.get("/api/loans/NOPE", headers=h)).status_code == 404


async def test_delinquency_events_reach_the_broker(env, loaded, kafka_bootstrap) -> None:
    consumer = AIOKafkaConsumer(
        "banksync.loan.delinquency_changed",
        bootstrap_servers=kafka_bootstrap,
        group_id=uuid.uuid4().hex,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        seen: set[str] = set()
        deadline = asyncio.get_running_loop().time() + 20
        while not seen and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                for m in msgs:
                    p = default_registry().decode("banksync.LoanDelinquencyChanged", 1, m.value)
                    assert m.key.decode() == p["account_number"]
                    seen.add(p["account_number"])
        assert seen
    finally:
        await consumer.stop()
