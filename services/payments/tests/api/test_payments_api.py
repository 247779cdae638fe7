"""§2.3 endpoints over HTTP: record, read, idempotency, suspense, reversal, receipts, auth."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from payments_testkit import add_loan, scalar

READ, CREATE, REVERSE = "payments:read", "payments:create", "payments:reverse"


def ref() -> str:
    return f"BR-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
async def loan_account(app: Any) -> str:
    account = f"LN{uuid.uuid4().hex[:8]}"
    await add_loan(app, account, cif="CIF-A", principal=100_000, interest=5_000, penalties=1_000)
    return account


async def post_payment(client: Any, tf: Any, body: dict[str, Any], key: str | None = None) -> Any:
    headers = tf.headers(CREATE)
    if key:
        headers["Idempotency-Key"] = key
    return await client.post("/api/payments", json=body, headers=headers)


ENDPOINTS = [
    ("GET", "/api/payments/loan/X", READ),
    ("GET", "/api/payments/customer/X", READ),
    ("POST", "/api/payments", CREATE),
    ("GET", "/api/payments/PAYX", READ),
    ("GET", "/api/payments/receipt/PAYX", READ),
    ("GET", "/api/payments/receipt/PAYX/verify?code=AAAA", READ),
    ("POST", "/api/payments/PAYX/reversal", REVERSE),
    ("POST", "/api/payments/PAYX/allocation", "payments:reconcile"),
    ("GET", "/api/payments/transactions", READ),
    ("POST", "/api/payments/initiate", "payments:initiate"),
    ("POST", "/api/payments/check-status", "payments:initiate"),
    ("POST", "/api/payments/sandbox-test", "payments:initiate"),
    ("POST", "/api/payments/reconciliation", "payments:reconcile"),
    ("POST", "/api/payments/reconciliation/statements", "payments:reconcile"),
    ("GET", "/api/payments/reconciliation/issues", "payments:reconcile"),
    ("POST", f"/api/payments/reconciliation/issues/{uuid.uuid4()}/resolve", "payments:reconcile"),
    ("GET", f"/api/payments/reconciliation/{uuid.uuid4()}", "payments:reconcile"),
]


@pytest.mark.parametrize(("method", "path", "perm"), ENDPOINTS)
async def test_auth_required(client: Any, token_factory: Any, method: str, path: str, perm: str) -> None:
    assert (await client.request(method, path)).status_code == 401
    other = "payments:read" if perm != READ else "collection:cases:read"
    resp = await client.request(method, path, headers=token_factory.headers(other), json={})
    assert resp.status_code == 403
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_allocates_in_order_and_reads_back(
    client: Any, token_factory: Any, app: Any, loan_account: str
) -> None:
    resp = await post_payment(
        client,
        token_factory,
        {
            "provider_reference": ref(),
            "account_number": loan_account,
            "amount": 7_000,
            "currency": "XOF",
        },
    )
    assert resp.status_code == 201, resp.text
    p = resp.json()
    assert p["status"] == "ALLOCATED" and p["cif"] == "CIF-A"
    assert (p["allocated_penalties"], p["allocated_interest"], p["allocated_principal"]) == (
        1_000,
        5_000,
        1_000,
    )
    assert (
        await scalar(
            app,
            "SELECT outstanding_principal FROM payments.loan WHERE account_number=:a",
            a=loan_account,
        )
        == 99_000
    )
    detail = (
        await client.get(f"/api/payments/{p['reference_number']}", headers=token_factory.headers(READ))
    ).json()
    assert sorted(a["component"] for a in detail["allocations"]) == [
        "INTEREST",
        "PENALTIES",
        "PRINCIPAL",
    ]
    assert [h["to_status"] for h in detail["history"]] == ["ALLOCATED"]
    by_loan = (
        await client.get(f"/api/payments/loan/{loan_account}", headers=token_factory.headers(READ))
    ).json()
    by_cif = (await client.get("/api/payments/customer/CIF-A", headers=token_factory.headers(READ))).json()
    assert p["id"] in {x["id"] for x in by_loan} & {x["id"] for x in by_cif}
    events = await scalar(
        app,
        "SELECT count(*) FROM payments.outbox WHERE key=:k AND event_type='payments.PaymentReceived'",
        k=loan_account,
    )
    assert events == 1


async def test_unknown_and_closed_loans_go_to_suspense(client: Any, token_factory: Any, app: Any) -> None:
    closed = f"LN{uuid.uuid4().hex[:8]}"
    await add_loan(app, closed, status="CLOSED")
    suspense = set()
    for account, why in ((f"NOPE{uuid.uuid4().hex[:6]}", "unknown"), (closed, "CLOSED")):
        resp = await post_payment(
            client,
            token_factory,
            {
                "provider_reference": ref(),
                "account_number": account,
                "amount": 2_500,
                "currency": "XOF",
            },
        )
        p = resp.json()
        assert resp.status_code == 201
        assert p["status"] == "UNALLOCATED" and p["needs_review"] is True
        assert p["unallocated_amount"] == 2_500 and why in p["review_reason"]
        suspense.add(p["id"])
    review = (
        await client.get(
            "/api/payments/transactions?needs_review=true&status=UNALLOCATED",
            headers=token_factory.headers(READ),
        )
    ).json()
    assert suspense <= {x["id"] for x in review}  # other tests' payments may be listed too


async def test_idempotency_key_replays_and_rejects_other_body(
    client: Any, token_factory: Any, app: Any
) -> None:
    key, body = (
        str(uuid.uuid4()),
        {
            "provider_reference": ref(),
            "amount": 1_000,
            "currency": "XOF",
            "transaction_type": "DEPOT_EPARGNE",
        },
    )
    first = await post_payment(client, token_factory, body, key)
    again = await post_payment(client, token_factory, body, key)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = await post_payment(client, token_factory, {**body, "amount": 999}, key)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert (
        await scalar(
            app,
            "SELECT count(*) FROM payments.payment WHERE provider_reference=:r",
            r=body["provider_reference"],
        )
        == 1
    )


async def test_duplicate_provider_reference_returns_original(
    client: Any, token_factory: Any, app: Any
) -> None:
    body = {"provider_reference": ref(), "amount": 3_000, "currency": "XOF"}
    first = (await post_payment(client, token_factory, body)).json()
    second = await post_payment(client, token_factory, body)
    assert second.json()["id"] == first["id"]
    mismatch = await post_payment(client, token_factory, {**body, "amount": 3_001})
    assert mismatch.status_code == 409
    assert (
        await scalar(
            app,
            "SELECT count(*) FROM payments.outbox o WHERE o.headers->>'event_id' IS NOT NULL AND o.key=:k",
            k=first["reference_number"],
        )
        == 1
    )


@pytest.mark.parametrize(
    "body",
    [
        {"provider_reference": "x", "amount": 10.5, "currency": "XOF"},
        {"provider_reference": "x", "amount": -5, "currency": "XOF"},
        {"provider_reference": "x", "amount": 5, "currency": "xof"},
        {"provider_reference": "", "amount": 5, "currency": "XOF"},
        {"provider_reference": "x", "amount": 5, "currency": "XOF", "transaction_type": "NOPE"},
        {
            "provider_reference": "x",
            "amount": 5,
            "currency": "XOF",
            "paid_at": "2024-01-01T00:00:00",
        },
    ],
)
async def test_bad_input_is_422(client: Any, token_factory: Any, body: dict[str, Any]) -> None:
    resp = await post_payment(client, token_factory, body)
    assert resp.status_code == 422


async def test_malformed_json_is_400(client: Any, token_factory: Any) -> None:
    resp = await client.post(
        "/api/payments",
        content=b"{nope",
        headers={**token_factory.headers(CREATE), "Content-Type": "application/json"},
    )
    assert resp.status_code == 400


async def test_reversal(client: Any, token_factory: Any, app: Any) -> None:
    account = f"LN{uuid.uuid4().hex[:8]}"
    await add_loan(app, account, principal=50_000, interest=0, penalties=0)
    paid = (
        await post_payment(
            client,
            token_factory,
            {
                "provider_reference": ref(),
                "account_number": account,
                "amount": 10_000,
                "currency": "XOF",
            },
        )
    ).json()
    url = f"/api/payments/{paid['reference_number']}/reversal"
    headers = {**token_factory.headers(REVERSE), "Idempotency-Key": str(uuid.uuid4())}
    resp = await client.post(url, json={"reason": "duplicate debit"}, headers=headers)
    assert resp.status_code == 201, resp.text
    rev = resp.json()
    assert rev["status"] == "REVERSAL" and rev["original_payment_id"] == paid["id"]
    replay = await client.post(url, json={"reason": "duplicate debit"}, headers=headers)
    assert replay.json()["id"] == rev["id"]
    again = await client.post(url, json={"reason": "again please"}, headers=token_factory.headers(REVERSE))
    assert again.status_code == 409
    original = (
        await client.get(f"/api/payments/{paid['reference_number']}", headers=token_factory.headers(READ))
    ).json()
    assert original["status"] == "REVERSED"
    assert [h["to_status"] for h in original["history"]] == ["ALLOCATED", "REVERSED"]
    assert (
        await scalar(
            app,
            "SELECT outstanding_principal FROM payments.loan WHERE account_number=:a",
            a=account,
        )
        == 50_000
    )
    assert (
        await scalar(
            app,
            "SELECT count(*) FROM payments.outbox WHERE key=:a AND event_type='payments.PaymentReversed'",
            a=account,
        )
        == 1
    )
    missing = await client.post(
        "/api/payments/PAYNOPE/reversal",
        json={"reason": "nope"},
        headers=token_factory.headers(REVERSE),
    )
    assert missing.status_code == 404


async def test_receipt_pdf_json_and_verification(client: Any, token_factory: Any) -> None:
    paid = (
        await post_payment(
            client,
            token_factory,
            {
                "provider_reference": ref(),
                "amount": 4_200,
                "currency": "XOF",
                "transaction_type": "COTISATION_TONTINE",
            },
        )
    ).json()
    rn, h = paid["reference_number"], token_factory.headers(READ)
    pdf = await client.get(f"/api/payments/receipt/{rn}", headers=h)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    js = (await client.get(f"/api/payments/receipt/{rn}?format=json", headers=h)).json()
    assert js["amount"] == 4_200 and js["transaction_type"] == "COTISATION_TONTINE"
    code = js["verification_code"]
    ok = (await client.get(f"/api/payments/receipt/{rn}/verify", params={"code": code}, headers=h)).json()
    assert ok["valid"] is True
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    bad = (await client.get(f"/api/payments/receipt/{rn}/verify", params={"code": forged}, headers=h)).json()
    assert bad["valid"] is False
    assert (await client.get("/api/payments/receipt/PAYNOPE", headers=h)).status_code == 404


async def test_institution_scoping(client: Any, token_factory: Any, app: Any) -> None:
    account = f"LN{uuid.uuid4().hex[:8]}"
    await add_loan(app, account, institution="SFD-1")
    paid = (
        await post_payment(
            client,
            token_factory,
            {
                "provider_reference": ref(),
                "account_number": account,
                "amount": 100,
                "currency": "XOF",
            },
        )
    ).json()
    rn = paid["reference_number"]
    own = await client.get(f"/api/payments/{rn}", headers=token_factory.headers(READ, institution_id="SFD-1"))
    other = await client.get(
        f"/api/payments/{rn}", headers=token_factory.headers(READ, institution_id="SFD-2")
    )
    assert own.status_code == 200 and other.status_code == 404
