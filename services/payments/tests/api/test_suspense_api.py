"""Operator allocation of a payment in suspense: POST /api/payments/{ref}/allocation."""

from __future__ import annotations

import uuid
from typing import Any

from caisse_shared.events.registry import default_registry
from payments_testkit import add_loan, scalar
from sqlalchemy import text

RECONCILE = "payments:reconcile"


async def _suspense_payment(client: Any, tf: Any, amount: int = 4_000) -> dict[str, Any]:
    body = {
        "provider_reference": f"SUS-{uuid.uuid4().hex[:10]}",
        "account_number": f"UNKNOWN-{uuid.uuid4().hex[:6]}",
        "amount": amount,
        "currency": "XOF",
    }
    resp = await client.post("/api/payments", json=body, headers=tf.headers("payments:create"))
    assert resp.status_code == 201, resp.text
    payment: dict[str, Any] = resp.json()
    assert payment["status"] == "UNALLOCATED" and payment["needs_review"]
    return payment


async def _allocate(client: Any, tf: Any, reference: str, account: str, **headers: str) -> Any:
    return await client.post(
        f"/api/payments/{reference}/allocation",
        json={"accountNumber": account},
        headers={**tf.headers(RECONCILE), **headers},
    )


async def _events(app: Any, payment_id: str) -> list[dict[str, Any]]:
    async with app.state.database.engine.connect() as conn:
        rows = await conn.execute(text("SELECT event_type, payload FROM payments.outbox ORDER BY id"))
        decoded = [default_registry().decode(r.event_type, 1, r.payload) for r in rows]
    return [e for e in decoded if e["payment_id"] == payment_id]


async def test_allocates_once_with_history_event_and_idempotency_key(
    client: Any, token_factory: Any, app: Any
) -> None:
    account = f"LN{uuid.uuid4().hex[:8]}"
    await add_loan(app, account, cif="CIF-S", principal=10_000, interest=1_000, penalties=500)
    p = await _suspense_payment(client, token_factory)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    resp = await _allocate(client, token_factory, p["reference_number"], account, **key)
    assert resp.status_code == 200, resp.text
    done = resp.json()
    assert (done["status"], done["needs_review"], done["account_number"]) == ("ALLOCATED", False, account)
    assert (done["allocated_penalties"], done["allocated_interest"], done["allocated_principal"]) == (
        500,
        1_000,
        2_500,
    )
    assert done["unallocated_amount"] == 0
    again = await _allocate(client, token_factory, p["reference_number"], account, **key)
    assert (again.status_code, again.json()) == (200, done)
    history = await scalar(
        app,
        "SELECT from_status || '>' || to_status || ' by ' || actor FROM payments.payment_history "
        "WHERE payment_id = :p AND from_status IS NOT NULL",
        p=uuid.UUID(p["id"]),
    )
    assert history == "UNALLOCATED>ALLOCATED by user-1"
    principal = "SELECT outstanding_principal FROM payments.loan WHERE account_number = :a"
    assert await scalar(app, principal, a=account) == 7_500
    events = await _events(app, p["id"])
    assert [(e["status"], e["account_number"]) for e in events] == [
        ("UNALLOCATED", p["account_number"]),
        ("ALLOCATED", account),
    ]


async def test_a_payment_not_in_suspense_is_409(client: Any, token_factory: Any, app: Any) -> None:
    account = f"LN{uuid.uuid4().hex[:8]}"
    await add_loan(app, account)
    p = await _suspense_payment(client, token_factory)
    assert (await _allocate(client, token_factory, p["reference_number"], account)).status_code == 200
    second = await _allocate(client, token_factory, p["reference_number"], account)
    assert second.status_code == 409
    assert second.json()["code"] == "invalid_payment_state"


async def test_unknown_loan_and_refusing_loan_are_422_and_leave_suspense(
    client: Any, token_factory: Any, app: Any
) -> None:
    p = await _suspense_payment(client, token_factory)
    unknown = await _allocate(client, token_factory, p["reference_number"], "NO-SUCH-LOAN")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_loan")
    closed = f"LN{uuid.uuid4().hex[:8]}"
    await add_loan(app, closed, status="CLOSED")
    refused = await _allocate(client, token_factory, p["reference_number"], closed)
    assert (refused.status_code, refused.json()["code"]) == (422, "allocation_refused")
    status = "SELECT status FROM payments.payment WHERE reference_number = :r"
    assert await scalar(app, status, r=p["reference_number"]) == "UNALLOCATED"
    assert len(await _events(app, p["id"])) == 1


async def test_auth_and_unknown_payment(client: Any, token_factory: Any) -> None:
    path = "/api/payments/PAYNOPE/allocation"
    body = {"accountNumber": "LN1"}
    assert (await client.post(path, json=body)).status_code == 401
    wrong = await client.post(path, json=body, headers=token_factory.headers("payments:create"))
    assert wrong.status_code == 403
    missing = await _allocate(client, token_factory, "PAYNOPE", "LN1")
    assert missing.status_code == 404
    bad = await client.post(path, json={"accountNumber": ""}, headers=token_factory.headers(RECONCILE))
    assert bad.status_code == 422
