"""Sync jobs, their errors and the status list name files relative to the source's folder."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from caisse_bank_sync import synthetic
from caisse_bank_sync.config import Settings, SourceConfig
from caisse_bank_sync.main import create_app

SERVICE_DIR = Path(__file__).resolve().parents[2]
RUN, READ = "banksync:sync:run", "banksync:sync:read"


@pytest.fixture
async def env(pg, kafka_bootstrap, token_factory, tmp_path: Path):
    root = tmp_path.resolve() / "srv" / "extracts"
    t24, w4, los = root / "T24", root / "W4", root / "LOS"
    synthetic.generate("T24", t24, customers=3, loans=3, seed=4, entities=["customer", "loan"])
    with (t24 / "CUSTOMER.csv").open("a") as fh:
        fh.write("CIF_SHORT,X\n")  # quarantined: field count
    w4.mkdir()  # no clients.jsonl: asking for customers fails the job
    (los / "los_borrowers.csv").mkdir(parents=True)  # exists but cannot be read as a file
    settings = Settings(
        database_url=await pg.migrated_database(SERVICE_DIR),
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_enable_idempotence=False,
        log_json=False,
        sources={s: SourceConfig(path=p) for s, p in (("T24", t24), ("W4", w4), ("LOS", los))},
    )
    app = create_app(settings, verifier=token_factory.verifier())
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield client, token_factory, root


async def _finished(client: httpx.AsyncClient, tf, job_id: str) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + 60
    while asyncio.get_running_loop().time() < deadline:
        r = await client.get(f"/api/sync/jobs/{job_id}", headers=tf.headers(READ))
        if r.json()["status"] in ("COMPLETED", "FAILED"):
            return r
        await asyncio.sleep(0.05)
    raise AssertionError(f"job did not finish within 60 s: {r.json()}")


async def test_no_response_names_a_server_path(env) -> None:
    client, tf, root = env
    runs = [{"source": "T24"}, {"source": "W4", "entityType": "customer"}, {"source": "LOS"}]
    bodies: dict[str, str] = {}
    jobs = {}
    for run in runs:
        r = await client.post("/api/sync/run", json=run, headers=tf.headers(RUN))
        assert r.status_code == 202, r.text
        done = await _finished(client, tf, r.json()["id"])
        jobs[run["source"]] = done.json()
        errors = await client.get(f"/api/sync/jobs/{done.json()['id']}/errors", headers=tf.headers(READ))
        bodies[run["source"]] = done.text + errors.text
        jobs[run["source"]]["errorList"] = errors.json()["items"]
    bodies["status"] = (await client.get("/api/sync/status", headers=tf.headers(READ))).text
    for name, body in bodies.items():
        assert str(root) not in body and "/srv/extracts" not in body, (name, body)
    t24 = jobs["T24"]
    assert t24["status"] == "COMPLETED"
    assert [e["file"] for e in t24["details"]["entities"]] == ["CUSTOMER.csv", "AA.ARRANGEMENT.csv"]
    assert [(e["file"], e["line"]) for e in t24["errorList"]] == [("CUSTOMER.csv", 5)]
    w4, los = jobs["W4"], jobs["LOS"]
    assert w4["status"] == los["status"] == "FAILED"
    assert w4["errorMessage"] == "ExtractError: clients.jsonl not found in the W4 extract folder"
    assert los["errorMessage"] == "ExtractError: los_borrowers.csv: cannot read (Is a directory)"
    assert [e["reason"] for e in los["errorList"]] == [los["errorMessage"]]
