"""A new loan repayment by webhook (one driver transaction) leaves what the transactional path
leaves: payment, allocation lines, loan balances, history and event; and loans stay serialised."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from caisse_payments.db import intake
from caisse_payments.db import repositories as repo
from caisse_payments.domain.allocation import parse_order
from caisse_payments.domain.channels import TRANSFORMS
from caisse_payments.services import ingest as ingest_service
from caisse_shared.events.registry import default_registry
from payments_testkit import add_loan, database_of
from sqlalchemy import text

ORDER = ("PENALTIES", "INTEREST", "PRINCIPAL")
CTX = ingest_service.IngestContext(order=parse_order(ORDER), actor="webhook:kkiapay")
# Columns that differ between two payments by construction (ids, references, the loan, times).
OWN = {"id", "reference_number", "provider_reference", "account_number", "received_at", "updated_at", "raw"}
CASES: dict[str, tuple[dict[str, Any] | None, int]] = {
    "penalties, then interest": ({"principal": 100_000, "interest": 5_000, "penalties": 1_000}, 3_000),
    "the whole loan and an overpayment": ({"principal": 1_000, "interest": 200, "penalties": 0}, 5_000),
    "a closed loan": ({"status": "CLOSED"}, 2_000),
    "another currency": ({"currency": "XAF"}, 2_000),
    "nothing outstanding": ({"principal": 0, "interest": 0, "penalties": 0}, 2_000),
    "an unknown loan": (None, 2_000),
}


def _notification(account: str, amount: int) -> Any:
    body = {
        "transactionId": f"R{uuid.uuid4().hex[:16]}",
        "isPaymentSucces": True,
        "amount": amount,
        "performedAt": "2025-03-01T09:30:00Z",
        "stateData": {"transaction_type": "remboursement_pret", "account_number": account},
    }
    return TRANSFORMS["kkiapay"][1](body, datetime.now(UTC))


async def _rows(app: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with database_of(app).engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(text(sql), params)]


async def _left(app: Any, payment_id: uuid.UUID, account: str) -> dict[str, Any]:
    """Everything the repayment wrote, without what differs by construction."""
    (payment,) = await _rows(app, "SELECT * FROM payments.payment WHERE id = :p", p=payment_id)
    (event,) = await _rows(app, "SELECT event_type, payload FROM payments.outbox WHERE key = :k", k=account)
    decoded = default_registry().decode(event["event_type"], 1, event["payload"])
    return {
        "payment": {k: v for k, v in payment.items() if k not in OWN},
        "lines": await _rows(
            app,
            "SELECT component, amount FROM payments.payment_allocation WHERE payment_id = :p ORDER BY id",
            p=payment_id,
        ),
        "loan": await _rows(
            app,
            "SELECT cif, status, currency, outstanding_principal, outstanding_interest,"
            " outstanding_penalties FROM payments.loan WHERE account_number = :a",
            a=account,
        ),
        "history": await _rows(
            app,
            "SELECT from_status, to_status, reason, actor FROM payments.payment_history"
            " WHERE payment_id = :p",
            p=payment_id,
        ),
        "event": (event["event_type"], {k: v for k, v in decoded.items() if k not in {"payment_id", *OWN}}),
    }


@pytest.mark.parametrize("case", list(CASES))
async def test_the_one_transaction_repayment_leaves_what_the_transactional_path_leaves(
    app: Any, case: str
) -> None:
    loan, amount = CASES[case]
    slow_account, fast_account = f"LS{uuid.uuid4().hex[:10]}", f"LF{uuid.uuid4().hex[:10]}"
    if loan is not None:
        await add_loan(app, slow_account, **loan)
        await add_loan(app, fast_account, **loan)
    database = database_of(app)
    async with database.unit_of_work() as session:
        slow = await ingest_service.ingest(
            session, _notification(slow_account, amount), CTX, delivery=("kkiapay", uuid.uuid4().hex)
        )
    fast = await ingest_service.ingest_delivery(
        database, _notification(fast_account, amount), CTX, ("kkiapay", uuid.uuid4().hex)
    )
    assert slow.created and fast.created
    left = await _left(app, fast.payment.id, fast_account)
    assert left == await _left(app, slow.payment.id, slow_account)
    assert fast.payment.status == left["payment"]["status"]


async def test_concurrent_repayments_of_one_loan_allocate_one_after_another(app: Any) -> None:
    account = f"LC{uuid.uuid4().hex[:10]}"
    await add_loan(app, account, principal=100_000, interest=1_200, penalties=1_000)
    results = await asyncio.gather(
        *(
            ingest_service.ingest_delivery(
                database_of(app), _notification(account, 500), CTX, ("kkiapay", uuid.uuid4().hex)
            )
            for _ in range(30)
        )
    )
    assert all(r.created and r.payment.status == "ALLOCATED" for r in results)
    # Each read the dues the previous one left: penalties, then interest, then principal, exactly.
    split = await _rows(
        app,
        "SELECT component, sum(amount) AS total FROM payments.payment_allocation WHERE account_number = :a"
        " GROUP BY component ORDER BY component",
        a=account,
    )
    assert split == [
        {"component": "INTEREST", "total": 1_200},
        {"component": "PENALTIES", "total": 1_000},
        {"component": "PRINCIPAL", "total": 30 * 500 - 2_200},
    ]
    (loan,) = await _rows(
        app,
        "SELECT outstanding_penalties, outstanding_interest, outstanding_principal FROM payments.loan"
        " WHERE account_number = :a",
        a=account,
    )
    assert loan == {
        "outstanding_penalties": 0,
        "outstanding_interest": 0,
        "outstanding_principal": 100_000 - (30 * 500 - 2_200),
    }


async def test_a_deadlock_with_the_transactional_path_falls_back_to_it(app: Any) -> None:
    # An operator entering the webhook's payment by hand as it arrives: the transactional path
    # inserts the provider reference, then locks the loan; the webhook locks the loan, then
    # inserts the same reference (it waits for the first). The first to wait is the victim.
    account = f"LD{uuid.uuid4().hex[:10]}"
    await add_loan(app, account)
    by_hand, webhook = _notification(account, 2_000), _notification(account, 2_000)
    webhook = dataclasses.replace(webhook, provider_reference=by_hand.provider_reference)
    database = database_of(app)
    async with database.unit_of_work() as session:
        values = ingest_service._values(by_hand, CTX)
        await intake.insert_new(
            session, values, delivery=None, history_reason=None, with_history=False, outbox_row=None
        )
        arriving = asyncio.ensure_future(
            ingest_service.ingest_delivery(database, webhook, CTX, ("kkiapay", uuid.uuid4().hex))
        )
        while not await _waiting_for_a_lock(app):
            await asyncio.sleep(0.01)
        assert await repo.lock_loan(session, account) is not None  # the webhook gave way
    result = await arriving
    assert (result.created, result.payment.id) == (False, values["id"])
    payments = await _rows(app, "SELECT id FROM payments.payment WHERE account_number = :a", a=account)
    assert payments == [{"id": values["id"]}]


async def _waiting_for_a_lock(app: Any) -> bool:
    rows = await _rows(
        app,
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return bool(rows)
