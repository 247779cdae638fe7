"""Provider fields are never cut, odd dates and types are flagged: the money is always recorded."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from payments_testkit import add_loan, create_app, make_settings, scalar, signed

KKIAPAY = "/api/payments/webhooks/kkiapay"
READ = "payments:read"


def _kkiapay(ref: str, **fields: Any) -> dict[str, Any]:
    state = fields.pop("stateData", {"transaction_type": "depot_epargne"})
    return {"transactionId": ref, "isPaymentSucces": True, "amount": 1_500, "stateData": state, **fields}


async def _post(client: Any, url: str, body: Any, ts: int | None = None) -> Any:
    raw, headers = signed(body, ts=ts)
    return await client.post(url, content=raw, headers=headers)


async def _payment(app: Any, column: str, **where: Any) -> Any:
    ((key, value),) = where.items()
    return await scalar(app, f"SELECT {column} FROM payments.payment WHERE {key} = :v", v=value)


async def test_references_sharing_their_first_120_characters_are_two_payments(client: Any, app: Any) -> None:
    stem = "R" * 120 + uuid.uuid4().hex[:8]
    first, second = stem + "-A", stem + "-B"
    one = await _post(client, KKIAPAY, _kkiapay(first))
    two = await _post(client, KKIAPAY, _kkiapay(second))
    assert (one.status_code, two.status_code) == (201, 201), two.text
    assert one.json()["id"] != two.json()["id"]
    for resp, whole in ((one, first), (two, second)):
        p = resp.json()
        assert p["provider_reference"].startswith("sha256:")
        assert p["needs_review"] and "provider reference of 130 characters" in p["review_reason"]
        raw = await _payment(app, "raw::text", reference_number=p["reference_number"])
        assert json.loads(raw)["transactionId"] == whole
    retry = await _post(client, KKIAPAY, _kkiapay(first), ts=int(time.time()) - 1)
    assert (retry.status_code, retry.json()["id"]) == (200, one.json()["id"])  # still exactly once


@pytest.mark.parametrize("length", [61, 130])
async def test_an_account_number_too_long_is_not_cut_and_waits_in_suspense(
    client: Any, app: Any, token_factory: Any, length: int
) -> None:
    prefix = f"LN{uuid.uuid4().hex[:8]}"
    await add_loan(app, prefix, principal=10_000, interest=0, penalties=0)
    account = prefix + "9" * (length - len(prefix))
    ref = f"A{uuid.uuid4().hex[:12]}"
    state = {"account_number": account, "transaction_type": "remboursement_pret"}
    resp = await _post(client, KKIAPAY, _kkiapay(ref, stateData=state))
    assert resp.status_code == 201, resp.text
    p = resp.json()
    assert (p["status"], p["account_number"]) == ("UNALLOCATED", None)
    assert f"account number of {length} characters" in p["review_reason"]
    assert json.loads(await _payment(app, "raw::text", provider_reference=ref))["stateData"] == state
    listed = await client.get(
        "/api/payments/transactions?needs_review=true&limit=500", headers=token_factory.headers(READ)
    )
    assert p["reference_number"] in {r["reference_number"] for r in listed.json()}
    untouched = await scalar(
        app, "SELECT outstanding_principal FROM payments.loan WHERE account_number=:a", a=prefix
    )
    assert untouched == 10_000


async def test_a_phone_or_cif_too_long_is_left_out_and_flagged(client: Any, app: Any) -> None:
    ref = f"P{uuid.uuid4().hex[:12]}"
    state = {"transaction_type": "depot_epargne", "cif": "C" * 61}
    resp = await _post(client, KKIAPAY, _kkiapay(ref, account="2" * 41, stateData=state))
    assert resp.status_code == 201, resp.text
    p = resp.json()
    assert (p["payer_phone"], p["cif"]) == (None, None)
    assert "payer phone of 41 characters" in p["review_reason"]
    assert "CIF of 61 characters" in p["review_reason"]


async def test_a_long_failure_reason_is_bounded_where_documented(client: Any, app: Any) -> None:
    ref, reason = f"F{uuid.uuid4().hex[:12]}", "x" * 2_000
    body = {
        "financialTransactionId": ref,
        "amount": "10",
        "currency": "XOF",
        "status": "FAILED",
        "reason": reason,
    }
    resp = await _post(client, "/api/payments/webhooks/mtn-momo", body)
    assert resp.status_code == 201
    stored = resp.json()["failure_reason"]
    assert len(stored) == 500 and stored.endswith("…")
    assert json.loads(await _payment(app, "raw::text", provider_reference=ref))["reason"] == reason


async def test_reversals_of_references_sharing_a_prefix_do_not_collide(
    client: Any, token_factory: Any
) -> None:
    stem = "V" * 110 + uuid.uuid4().hex[:6]
    references = []
    for suffix in ("AAAA", "BBBB"):  # 120 characters each: "REV:" + reference was cut to 120
        body = {
            "provider_reference": stem + suffix,
            "amount": 800,
            "currency": "XOF",
            "transaction_type": "DEPOT_EPARGNE",
        }
        created = await client.post(
            "/api/payments", json=body, headers=token_factory.headers("payments:create")
        )
        assert created.status_code == 201, created.text
        references.append(created.json()["reference_number"])
    for reference in references:
        resp = await client.post(
            f"/api/payments/{reference}/reversal",
            json={"reason": "customer refund"},
            headers=token_factory.headers("payments:reverse"),
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["provider_reference"] == f"REV:{reference}"


@pytest.mark.parametrize(
    "csv_line",
    [
        "R" * 121 + ",10,XOF,2025-01-01",
        "A1,\u00b2,XOF,2025-01-01",
        "A1,1\u0663,XOF,2025-01-01",
        "A\x00,10,XOF,2025-01-01",
    ],
    ids=["reference-121", "superscript-amount", "arabic-indic-amount", "nul"],
)
async def test_statement_lines_are_refused_not_cut(client: Any, token_factory: Any, csv_line: str) -> None:
    resp = await client.post(
        "/api/payments/reconciliation/statements?channel=KKIAPAY",
        content=f"provider_reference,amount,currency,date\n{csv_line}\n".encode(),
        headers={**token_factory.headers("payments:reconcile"), "Content-Type": "text/csv"},
    )
    assert resp.status_code == 422, resp.text


@pytest.mark.parametrize(
    ("stated", "flagged"),
    [
        ("2099-01-01T00:00:00Z", True),
        ("0001-01-01", True),
        ("0001-01-01T00:00:00+14:00", True),
        ("9999-12-31T23:59:59-14:00", True),
        ("1999-12-31T23:59:59Z", True),
        (-5_000_000_000, True),
        ("2025-03-01T10:00:00+01:00", False),
    ],
)
async def test_dates_outside_the_bounds_are_flagged_and_dated_on_receipt(
    client: Any, app: Any, stated: Any, flagged: bool
) -> None:
    ref = f"D{uuid.uuid4().hex[:12]}"
    before = datetime.now(UTC)
    resp = await _post(client, KKIAPAY, _kkiapay(ref, performedAt=stated))
    assert resp.status_code == 201, resp.text
    p = resp.json()
    paid_at = datetime.fromisoformat(p["paid_at"])
    assert paid_at.tzinfo is not None and paid_at.utcoffset() == timedelta(0)
    assert p["needs_review"] is flagged
    if flagged:
        assert "outside 2000-01-01" in p["review_reason"]
        assert before - timedelta(seconds=5) <= paid_at <= datetime.now(UTC)
    else:
        assert paid_at == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


async def test_date_bounds_are_settings(db_url: str, token_factory: Any) -> None:
    settings = make_settings(db_url, payment_date_floor="2025-01-01", payment_date_max_ahead_s=60)
    app = create_app(settings, verifier=token_factory.verifier())
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            old = await _post(
                c, KKIAPAY, _kkiapay(f"D{uuid.uuid4().hex[:12]}", performedAt="2024-12-31T00:00:00Z")
            )
            ahead = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
            soon = await _post(c, KKIAPAY, _kkiapay(f"D{uuid.uuid4().hex[:12]}", performedAt=ahead))
    finally:
        await app.state.database.dispose()
    assert old.json()["needs_review"] and soon.json()["needs_review"]


async def test_mtn_payee_note_is_free_text_not_a_type(client: Any) -> None:
    ref = f"M{uuid.uuid4().hex[:12]}"
    body = {
        "financialTransactionId": ref,
        "externalId": "order 42",
        "amount": "2500",
        "currency": "XOF",
        "status": "SUCCESSFUL",
        "payer": {"partyIdType": "MSISDN", "partyId": "22966000000"},
        "payerMessage": "merci",
        "payeeNote": "Cotisation de mars, famille Dossou",
    }
    resp = await _post(client, "/api/payments/webhooks/mtn-momo", body)
    assert resp.status_code == 201, resp.text
    p = resp.json()
    assert (p["transaction_type"], p["payer_phone"]) == ("REMBOURSEMENT_PRET", "22966000000")
    assert "transaction type" not in (p["review_reason"] or "")
    email = {
        **body,
        "financialTransactionId": ref + "E",
        "payer": {"partyIdType": "EMAIL", "partyId": "a@b.example"},
    }
    assert (await _post(client, "/api/payments/webhooks/mtn-momo", email)).json()["payer_phone"] is None


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (
            KKIAPAY,
            {
                "transactionId": "?",
                "isPaymentSucces": True,
                "amount": 10,
                "stateData": {"transaction_type": "don"},
            },
        ),
        (
            "/api/payments/webhooks/bank-transfer",
            {"transferId": "?", "amount": 10, "currency": "XOF", "transactionType": "CRDT"},
        ),
        (
            "/api/payments/notification",
            {
                "channel": "PARTNER",
                "providerReference": "?",
                "amount": 10,
                "currency": "XOF",
                "transactionType": {"a": 1},
            },
        ),
    ],
)
async def test_an_unknown_transaction_type_is_the_default_flagged(
    client: Any, url: str, body: dict[str, Any]
) -> None:
    ref = f"U{uuid.uuid4().hex[:12]}"
    body = {k: (ref if v == "?" else v) for k, v in body.items()}
    resp = await _post(client, url, body)
    assert resp.status_code == 201, resp.text
    p = resp.json()
    assert p["transaction_type"] == "REMBOURSEMENT_PRET"
    assert p["needs_review"] and "unknown transaction type" in p["review_reason"]


async def test_moov_has_no_transaction_type_field(client: Any) -> None:
    ref = f"V{uuid.uuid4().hex[:12]}"
    body = {
        "transid": ref,
        "amount": 10,
        "status": "0",
        "msisdn": "22995000000",
        "transactionType": "MERCHANT_PAY",
    }
    resp = await _post(client, "/api/payments/webhooks/moov", body)
    assert resp.status_code == 201, resp.text
    p = resp.json()
    assert p["transaction_type"] == "REMBOURSEMENT_PRET"
    assert "transaction type" not in (p["review_reason"] or "")


@pytest.mark.parametrize("paid_at", ["0001-01-01T00:00:00+14:00", "2099-01-01T00:00:00Z"])
async def test_an_operator_date_outside_the_bounds_is_refused(
    client: Any, token_factory: Any, paid_at: str
) -> None:
    body = {
        "provider_reference": f"OP{uuid.uuid4().hex[:8]}",
        "amount": 10,
        "currency": "XOF",
        "paid_at": paid_at,
        "transaction_type": "DEPOT_EPARGNE",
    }
    resp = await client.post("/api/payments", json=body, headers=token_factory.headers("payments:create"))
    assert resp.status_code == 422, resp.text
