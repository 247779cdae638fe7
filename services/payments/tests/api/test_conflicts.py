"""A retry that disagrees with the stored payment: exactly once, the delivery kept, the payment flagged.

Both intake paths (the one-statement fast path and the transactional one) must give the same
answer and leave the same rows for every case: the fast path only answers a retry itself when
nothing in it differs from the stored payment.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from caisse_payments.domain.allocation import parse_order
from caisse_payments.domain.channels import TRANSFORMS
from caisse_payments.domain.model import DuplicateMismatch
from caisse_payments.services.ingest import IngestContext, ingest, ingest_delivery
from payments_testkit import add_loan, database_of, scalar, signed
from prometheus_client import REGISTRY
from sqlalchemy import text

URL = "/api/payments/webhooks/kkiapay"
CTX = IngestContext(order=parse_order(("PENALTIES", "INTEREST", "PRINCIPAL")), actor="webhook:kkiapay")
METRIC = "caisse_payments_conflicting_deliveries_total"


def _body(ref: str, *, ok: Any = True, amount: int = 3_000, **state: Any) -> dict[str, Any]:
    return {"transactionId": ref, "isPaymentSucces": ok, "amount": amount, "stateData": state}


def _count(kind: str) -> float:
    return REGISTRY.get_sample_value(METRIC, {"channel": "KKIAPAY", "kind": kind}) or 0.0


async def _conflicts(app: Any, ref: str) -> list[tuple[str, str]]:
    async with database_of(app).engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT c.kind, c.detail FROM payments.payment_conflict c "
                "JOIN payments.payment p ON p.id = c.payment_id WHERE p.provider_reference = :r "
                "ORDER BY c.id"
            ),
            {"r": ref},
        )
        return [(r.kind, r.detail) for r in rows]


async def test_same_amount_other_loan_is_answered_flagged_and_kept(
    client: Any, app: Any, token_factory: Any
) -> None:
    ref, loan, other = f"C{uuid.uuid4().hex[:12]}", f"LN{uuid.uuid4().hex[:8]}", f"LN{uuid.uuid4().hex[:8]}"
    await add_loan(app, loan, principal=50_000, interest=0, penalties=0)
    await add_loan(app, other, principal=50_000, interest=0, penalties=0)
    raw, headers = signed(_body(ref, account_number=loan))
    first = await client.post(URL, content=raw, headers=headers)
    assert first.status_code == 201 and first.json()["status"] == "ALLOCATED"
    before = _count("CONFLICTING_RETRY")
    raw, headers = signed(_body(ref, account_number=other), ts=int(time.time()) - 1)
    retry = await client.post(URL, content=raw, headers=headers)
    assert retry.status_code == 200, retry.text
    p = retry.json()
    assert (p["id"], p["account_number"], p["allocated_principal"]) == (first.json()["id"], loan, 3_000)
    assert p["needs_review"] and other in p["review_reason"]
    assert await scalar(app, "SELECT count(*) FROM payments.payment WHERE provider_reference=:r", r=ref) == 1
    assert (
        await scalar(app, "SELECT outstanding_principal FROM payments.loan WHERE account_number=:a", a=other)
        == 50_000
    )  # nothing moved to the other loan
    assert _count("CONFLICTING_RETRY") == before + 1
    detail = await client.get(
        f"/api/payments/{p['reference_number']}", headers=token_factory.headers("payments:read")
    )
    [conflict] = detail.json()["conflicts"]
    assert conflict["kind"] == "CONFLICTING_RETRY"
    assert conflict["raw"]["stateData"]["account_number"] == other  # the delivery, whole
    listed = await client.get(
        "/api/payments/transactions?needs_review=true&limit=500",
        headers=token_factory.headers("payments:read"),
    )
    assert p["reference_number"] in {r["reference_number"] for r in listed.json()}
    metrics = (await client.get("/metrics")).text
    assert f'{METRIC}{{channel="KKIAPAY",kind="CONFLICTING_RETRY"}}' in metrics


async def test_successful_then_failed_keeps_the_money_and_flags_it(client: Any, app: Any) -> None:
    ref = f"C{uuid.uuid4().hex[:12]}"
    raw, headers = signed(_body(ref, transaction_type="depot_epargne"))
    first = await client.post(URL, content=raw, headers=headers)
    assert first.json()["status"] == "RECEIVED"
    raw, headers = signed(_body(ref, ok=False, transaction_type="depot_epargne"), ts=int(time.time()) - 1)
    retry = await client.post(URL, content=raw, headers=headers)
    assert retry.status_code == 200
    assert retry.json()["status"] == "RECEIVED"
    assert retry.json()["needs_review"]
    assert await _conflicts(app, ref) == [("CONFLICTING_RETRY", "outcome FAILED, stored RECEIVED")]
    events = await scalar(
        app, "SELECT count(*) FROM payments.outbox WHERE key=:k", k=first.json()["reference_number"]
    )
    assert events == 1  # no PaymentFailed for money received


# (first delivery, retry, conflict kinds the retry leaves)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {
    "identical": ({"transaction_type": "depot_epargne"}, {"transaction_type": "depot_epargne"}, []),
    "type-not-restated": ({"transaction_type": "depot_epargne"}, {}, []),
    "other-type": ({"transaction_type": "depot_epargne"}, {"transaction_type": "retrait_epargne"}, ["C"]),
    "account-added": (
        {"transaction_type": "depot_epargne"},
        {"transaction_type": "depot_epargne", "account_number": "LNX"},
        ["C"],
    ),
    "same-account": (
        {"transaction_type": "depot_epargne", "account_number": "LNX"},
        {"transaction_type": "depot_epargne", "account_number": "LNX"},
        [],
    ),
    "other-cif": (
        {"transaction_type": "depot_epargne", "cif": "A"},
        {"transaction_type": "depot_epargne", "cif": "B"},
        ["C"],
    ),
    "success-then-failed": (
        {"transaction_type": "depot_epargne"},
        {"ok": False, "transaction_type": "depot_epargne"},
        ["C"],
    ),
    "failed-then-failed": ({"ok": False}, {"ok": False}, []),
    "failed-then-success": (
        {"ok": False, "transaction_type": "depot_epargne"},
        {"transaction_type": "depot_epargne"},
        [],
    ),
    "pending-then-pending": ({"ok": "pending"}, {"ok": "pending"}, []),
    "pending-then-success": (
        {"ok": "pending", "transaction_type": "depot_epargne"},
        {"transaction_type": "depot_epargne"},
        [],
    ),
    "pending-then-other-type": (
        {"ok": "pending", "transaction_type": "depot_epargne"},
        {"transaction_type": "cotisation_tontine"},
        ["C"],
    ),
    "other-amount": (
        {"transaction_type": "depot_epargne"},
        {"transaction_type": "depot_epargne", "amount": 3_001},
        ["A"],
    ),
    "loan-identical": ({"account_number": "LOAN"}, {"account_number": "LOAN"}, []),
    "loan-then-failed": ({"account_number": "LOAN"}, {"ok": False, "account_number": "LOAN"}, ["C"]),
}
KINDS = {"A": "AMOUNT_MISMATCH", "C": "CONFLICTING_RETRY"}


def _case_body(ref: str, spec: dict[str, Any], loan: str) -> dict[str, Any]:
    state = {k: v for k, v in spec.items() if k not in ("ok", "amount")}
    if state.get("account_number") == "LOAN":  # the loan in the read model
        state["account_number"] = loan
    if state.get("account_number") == "LNX":  # a loan nobody knows (one per run)
        state["account_number"] = f"X{loan}"
    return _body(ref, ok=spec.get("ok", True), amount=spec.get("amount", 3_000), **state)


async def _fast(app: Any, body: dict[str, Any]) -> str:
    """The webhook path: the one-statement intake, then the transaction when it cannot answer."""
    n = TRANSFORMS["kkiapay"][1](body, datetime.now(UTC))
    try:
        result = await ingest_delivery(database_of(app), n, CTX, ("kkiapay", uuid.uuid4().hex))
    except DuplicateMismatch:
        return "409"
    return "201" if result.created else "200"


async def _transactional(app: Any, body: dict[str, Any]) -> str:
    """The transactional path only (what ingest_delivery falls back to)."""
    n = TRANSFORMS["kkiapay"][1](body, datetime.now(UTC))
    async with database_of(app).unit_of_work() as session:
        result = await ingest(session, n, CTX, delivery=("kkiapay", uuid.uuid4().hex), keep_refused=True)
    if result.refused is not None:
        return "409"
    return "201" if result.created else "200"


async def _state(app: Any, ref: str) -> tuple[Any, ...]:
    """Everything a delivery can leave, independent of the payment's own ids."""
    async with database_of(app).engine.connect() as conn:
        p = (
            await conn.execute(text("SELECT * FROM payments.payment WHERE provider_reference=:r"), {"r": ref})
        ).one()
        history = await conn.execute(
            text(
                "SELECT from_status, to_status, reason FROM payments.payment_history "
                "WHERE payment_id=:p ORDER BY id"
            ),
            {"p": p.id},
        )
        events = await conn.scalar(
            text("SELECT count(*) FROM payments.outbox WHERE key IN (:a, :b)"),
            {"a": p.reference_number, "b": p.account_number or p.reference_number},
        )
        columns = (p.status, p.needs_review, p.review_reason, p.account_number is not None, p.cif)
        amounts = (p.allocated_principal, p.unallocated_amount, p.paid_at is not None, p.transaction_type)
        return columns, amounts, [tuple(h) for h in history], events


@pytest.mark.parametrize("case", sorted(CASES))
async def test_both_intake_paths_give_the_same_result(app: Any, case: str) -> None:
    first, retry, expected = CASES[case]
    outcomes = []
    for path in (_fast, _transactional):
        ref, loan = f"P{uuid.uuid4().hex[:12]}", f"LN{uuid.uuid4().hex[:8]}"
        await add_loan(app, loan, principal=50_000, interest=0, penalties=0)
        assert await path(app, _case_body(ref, first, loan)) == "201"
        answer = await path(app, _case_body(ref, retry, loan))
        conflicts = [kind for kind, _ in await _conflicts(app, ref)]
        state = await _state(app, ref)
        outcomes.append((answer, conflicts, str(state).replace(loan, "LOAN")))
    fast, transactional = outcomes
    assert fast == transactional
    assert fast[1] == [KINDS[k] for k in expected]
    assert fast[0] == ("409" if expected == ["A"] else "200")
