"""Reconciliation over HTTP: a crafted statement yields each kind of discrepancy; resolution."""

from __future__ import annotations

import uuid
from typing import Any

from caisse_payments.services.scheduler import ReconciliationScheduler
from payments_testkit import create_app, make_settings, signed

R = "payments:reconcile"


async def _pay(client: Any, ref: str, amount: int, when: str) -> None:
    raw, h = signed(
        {
            "channel": "MOOV",
            "providerReference": ref,
            "amount": amount,
            "currency": "XOF",
            "paidAt": when,
            "transactionType": "DEPOT_EPARGNE",
        }
    )
    assert (await client.post("/api/payments/notification", content=raw, headers=h)).status_code == 201


async def test_crafted_statement_reports_each_discrepancy(client: Any, token_factory: Any) -> None:
    t = uuid.uuid4().hex[:6]
    ok, mism, late, ours, dup = (f"{k}-{t}" for k in ("OK", "MISM", "LATE", "OURS", "DUP"))
    for ref, amount, when in (
        (ok, 1000, "2025-03-02T10:00:00Z"),
        (mism, 2000, "2025-03-02T11:00:00Z"),
        (late, 3000, "2025-03-01T09:00:00Z"),
        (ours, 4000, "2025-03-03T09:00:00Z"),
        (dup, 5000, "2025-03-02T12:00:00Z"),
    ):
        await _pay(client, ref, amount, when)
    csv_text = (
        "provider_reference,amount,currency,date\n"
        f"{ok},1000,XOF,2025-03-02\n{mism},2500,XOF,2025-03-02\n"
        f"{late},3000,XOF,2025-03-05\nTHEIRS-{t},6000,XOF,2025-03-03\n"
        f"{dup},5000,XOF,2025-03-02\n{dup},5000,XOF,2025-03-02\n"
    )
    resp = await client.post(
        "/api/payments/reconciliation",
        headers=token_factory.headers(R),
        json={
            "startDate": "2025-03-01",
            "endDate": "2025-03-05",
            "channel": "MOOV",
            "statementCsv": csv_text,
        },
    )
    assert resp.status_code == 201, resp.text
    report = resp.json()
    kinds = {(d["kind"], d["provider_reference"]) for d in report["discrepancies"]}
    assert kinds == {
        ("AMOUNT_MISMATCH", mism),
        ("DATE_MISMATCH", late),
        ("MISSING_PROVIDER", ours),
        ("MISSING_INTERNAL", f"THEIRS-{t}"),
        ("DUPLICATE", dup),
    }
    job = report["job"]
    assert (job["matched"], job["issues"], job["statement_lines"]) == (2, 5, 6)
    got = await client.get(f"/api/payments/reconciliation/{job['id']}", headers=token_factory.headers(R))
    assert got.json()["id"] == job["id"]


async def test_resolve_issue_once(client: Any, token_factory: Any) -> None:
    t = uuid.uuid4().hex[:6]
    resp = await client.post(
        "/api/payments/reconciliation",
        headers=token_factory.headers(R),
        json={
            "startDate": "2025-04-01",
            "endDate": "2025-04-01",
            "channel": "BANK_TRANSFER",
            "statementCsv": f"provider_reference,amount,currency,date\nX-{t},10,XOF,2025-04-01\n",
        },
    )
    issue = resp.json()["discrepancies"][0]
    url = f"/api/payments/reconciliation/issues/{issue['id']}/resolve"
    body = {"resolution": "CORRECTED", "note": "booked manually"}
    done = await client.post(url, json=body, headers=token_factory.headers(R, sub="op-7"))
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["resolved_by"]) == ("RESOLVED", "op-7")
    assert (await client.post(url, json=body, headers=token_factory.headers(R))).status_code == 409
    open_ = (
        await client.get("/api/payments/reconciliation/issues?status=OPEN", headers=token_factory.headers(R))
    ).json()
    assert issue["id"] not in {i["id"] for i in open_}
    bad = await client.post(url, json={"resolution": "WHATEVER"}, headers=token_factory.headers(R))
    assert bad.status_code == 422


async def test_statement_import_and_bad_csv(client: Any, token_factory: Any) -> None:
    h = {**token_factory.headers(R), "Content-Type": "text/csv"}
    ok = await client.post(
        "/api/payments/reconciliation/statements?channel=MTN_MOMO",
        headers=h,
        content=b"provider_reference,amount,currency,date\nA,1,XOF,2025-01-01\n",
    )
    assert ok.status_code == 201
    assert ok.json()["lines"] == 1
    for bad in (
        b"ref,amount\nA,1\n",
        b"provider_reference,amount,currency,date\nA,1.5,XOF,2025-01-01\n",
        b"provider_reference,amount,currency,date\nA,1,XOF,yesterday\n",
        b"\xff\xfe",
    ):
        resp = await client.post("/api/payments/reconciliation/statements", headers=h, content=bad)
        assert resp.status_code == 422, bad
    inverted = await client.post(
        "/api/payments/reconciliation",
        headers=token_factory.headers(R),
        json={"startDate": "2025-01-02", "endDate": "2025-01-01"},
    )
    assert inverted.status_code == 422


async def test_scheduled_run_reconciles_yesterday(db_url: str, token_factory: Any) -> None:
    from datetime import UTC, datetime, timedelta

    app = create_app(make_settings(db_url), verifier=token_factory.verifier())
    try:
        day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        import httpx

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            await c.post(
                "/api/payments/reconciliation/statements?channel=KKIAPAY",
                headers={**token_factory.headers(R), "Content-Type": "text/csv"},
                content=f"provider_reference,amount,currency,date\nS1,5,XOF,{day}\n".encode(),
            )
            sched = ReconciliationScheduler(app.state.database, interval_s=3600, tolerance_days=1)
            assert await sched.run_once() == 1  # one channel (KKIAPAY) has lines for yesterday
            issues = (
                await c.get("/api/payments/reconciliation/issues", headers=token_factory.headers(R))
            ).json()
            assert any(i["provider_reference"] == "S1" for i in issues)
    finally:
        await app.state.database.dispose()
