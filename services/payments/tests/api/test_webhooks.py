"""Signed webhooks: each channel, signature/timestamp/replay rejection, exactly-once under load."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from payments_testkit import add_loan, create_app, make_settings, scalar, signed


def _ref() -> str:
    return f"T{uuid.uuid4().hex[:12]}"


CHANNEL_BODIES = {
    "kkiapay": lambda r, a: {
        "transactionId": r,
        "isPaymentSucces": True,
        "amount": 5000,
        "account": "22997000000",
        "stateData": {"account_number": a, "transaction_type": "remboursement_pret"},
    },
    "mtn-momo": lambda r, a: {
        "financialTransactionId": r,
        "externalId": a,
        "amount": "5000",
        "currency": "XOF",
        "status": "SUCCESSFUL",
        "payer": {"partyIdType": "MSISDN", "partyId": "22966000000"},
    },
    "moov": lambda r, a: {
        "transid": r,
        "amount": 5000,
        "status": "0",
        "reference": a,
        "msisdn": "22995000000",
    },
    "bank-transfer": lambda r, a: {
        "transferId": r,
        "amount": 5000,
        "currency": "XOF",
        "valueDate": "2025-01-15",
        "remittanceInformation": a,
    },
}


@pytest.mark.parametrize("channel", sorted(CHANNEL_BODIES))
async def test_each_channel_webhook_allocates(client: Any, app: Any, channel: str) -> None:
    account, r = f"LN{uuid.uuid4().hex[:8]}", _ref()
    await add_loan(app, account, principal=10_000, interest=0, penalties=0)
    raw, headers = signed(CHANNEL_BODIES[channel](r, account))
    resp = await client.post(f"/api/payments/webhooks/{channel}", content=raw, headers=headers)
    assert resp.status_code == 201, resp.text
    p = resp.json()
    assert p["provider_reference"] == r
    assert p["status"] == "ALLOCATED"
    assert p["allocated_principal"] == 5000


async def test_generic_notification_and_kkiapay_alias(client: Any) -> None:
    raw, headers = signed(
        {
            "channel": "PARTNER",
            "providerReference": _ref(),
            "amount": 700,
            "currency": "XAF",
            "transactionType": "DEPOT_EPARGNE",
            "paidAt": "2025-02-01T10:00:00Z",
        }
    )
    resp = await client.post("/api/payments/notification", content=raw, headers=headers)
    assert resp.status_code == 201
    assert resp.json()["status"] == "RECEIVED"
    raw, headers = signed(CHANNEL_BODIES["kkiapay"](_ref(), None))
    resp = await client.post("/api/payments/webhook", content=raw, headers=headers)
    assert resp.status_code == 201
    assert resp.json()["status"] == "UNALLOCATED"


async def test_failed_notification_emits_payment_failed(client: Any, app: Any) -> None:
    r = _ref()
    raw, headers = signed(
        {
            "transactionId": r,
            "isPaymentSucces": False,
            "amount": 100,
            "failureMessage": "insufficient balance",
        }
    )
    resp = await client.post("/api/payments/webhooks/kkiapay", content=raw, headers=headers)
    assert resp.json()["status"] == "FAILED"
    assert (
        await scalar(
            app,
            "SELECT count(*) FROM payments.outbox WHERE event_type='payments.PaymentFailed' AND key=:k",
            k=resp.json()["reference_number"],
        )
        == 1
    )


async def test_bad_signature_expired_timestamp_and_replay(client: Any, app: Any) -> None:
    body = {"channel": "PARTNER", "providerReference": _ref(), "amount": 10, "currency": "XOF"}
    url = "/api/payments/notification"
    raw, headers = signed(body, secret="wrong-secret")
    assert (await client.post(url, content=raw, headers=headers)).status_code == 401
    raw, headers = signed(body)
    assert (await client.post(url, content=raw + b" ", headers=headers)).status_code == 401
    assert (
        await client.post(url, content=raw, headers={"Content-Type": "application/json"})
    ).status_code == 401
    raw, headers = signed(body, ts=int(time.time()) - 301)
    resp = await client.post(url, content=raw, headers=headers)
    assert resp.status_code == 401
    assert resp.json()["code"] == "timestamp_expired"
    raw, headers = signed(body, ts=int(time.time()) + 3600)
    assert (await client.post(url, content=raw, headers=headers)).status_code == 401
    raw, headers = signed(body)
    assert (await client.post(url, content=raw, headers=headers)).status_code == 201
    replay = await client.post(url, content=raw, headers=headers)
    assert replay.status_code == 409
    assert replay.json()["code"] == "webhook_replayed"
    assert (
        await scalar(
            app,
            "SELECT count(*) FROM payments.payment WHERE provider_reference=:r",
            r=body["providerReference"],
        )
        == 1
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1,2]",
        b'{"channel": "NOPE"}',
        b'{"channel":"PARTNER","providerReference":"x","amount":1.5,"currency":"XOF"}',
    ],
)
async def test_bad_bodies_are_4xx(client: Any, raw: bytes) -> None:
    _, headers = signed(raw)
    resp = await client.post("/api/payments/notification", content=raw, headers=headers)
    assert resp.status_code in (400, 422)


async def test_unknown_channel_is_4xx(client: Any) -> None:
    raw, headers = signed({"x": 1})
    resp = await client.post("/api/payments/webhooks/paypal", content=raw, headers=headers)
    assert resp.status_code == 422


async def test_fifty_concurrent_identical_notifications_one_payment_one_event(client: Any, app: Any) -> None:
    account, r = f"LN{uuid.uuid4().hex[:8]}", _ref()
    await add_loan(app, account, principal=1_000_000, interest=0, penalties=0)
    body = {
        "transactionId": r,
        "isPaymentSucces": True,
        "amount": 2_000,
        "stateData": {"account_number": account},
    }
    now = int(time.time())
    # Provider retries: same notification, each delivery signed at its own second.
    deliveries = [signed(body, ts=now - i) for i in range(50)]
    responses = await asyncio.gather(
        *(client.post("/api/payments/webhooks/kkiapay", content=raw, headers=h) for raw, h in deliveries)
    )
    assert all(x.status_code in (200, 201) for x in responses), [x.text for x in responses]
    assert sum(x.status_code == 201 for x in responses) == 1
    assert len({x.json()["id"] for x in responses}) == 1
    assert await scalar(app, "SELECT count(*) FROM payments.payment WHERE provider_reference=:r", r=r) == 1
    assert (
        await scalar(
            app,
            "SELECT count(*) FROM payments.outbox WHERE event_type='payments.PaymentReceived' AND key=:k",
            k=account,
        )
        == 1
    )
    assert (
        await scalar(
            app, "SELECT outstanding_principal FROM payments.loan WHERE account_number=:a", a=account
        )
        == 998_000
    )


async def test_pending_then_success_completes_once(client: Any, app: Any) -> None:
    r = _ref()
    base = {
        "channel": "PARTNER",
        "providerReference": r,
        "amount": 900,
        "currency": "XOF",
        "transactionType": "COTISATION_TONTINE",
    }
    raw, headers = signed({**base, "status": "PENDING"})
    assert (await client.post("/api/payments/notification", content=raw, headers=headers)).json()[
        "status"
    ] == "PENDING"
    raw, headers = signed({**base, "status": "SUCCESS"}, ts=int(time.time()) - 1)
    done = await client.post("/api/payments/notification", content=raw, headers=headers)
    assert done.status_code == 200
    assert done.json()["status"] == "RECEIVED"
    assert (
        await scalar(
            app, "SELECT count(*) FROM payments.outbox WHERE key=:k", k=done.json()["reference_number"]
        )
        == 1
    )


async def test_ip_allowlist(db_url: str, token_factory: Any) -> None:
    settings = make_settings(db_url, webhook_ip_allowlist={"moov": ["10.0.0.0/8"]})
    app = create_app(settings, verifier=token_factory.verifier())
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("192.0.2.1", 1)), base_url="http://t"
        ) as c:
            raw, headers = signed(CHANNEL_BODIES["moov"](_ref(), None))
            assert (
                await c.post("/api/payments/webhooks/moov", content=raw, headers=headers)
            ).status_code == 403
            raw, headers = signed(CHANNEL_BODIES["kkiapay"](_ref(), None))
            assert (
                await c.post("/api/payments/webhooks/kkiapay", content=raw, headers=headers)
            ).status_code == 201
    finally:
        await app.state.database.dispose()


async def test_ip_allowlist_behind_a_trusted_proxy(db_url: str, token_factory: Any) -> None:
    settings = make_settings(
        db_url,
        webhook_ip_allowlist={"moov": ["203.0.113.0/24"]},
        webhook_trusted_proxies=["192.0.2.1/32"],
    )
    app = create_app(settings, verifier=token_factory.verifier())

    async def post(peer: str, forwarded_for: str) -> int:
        transport = httpx.ASGITransport(app=app, client=(peer, 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            raw, headers = signed(CHANNEL_BODIES["moov"](_ref(), None))
            headers["X-Forwarded-For"] = forwarded_for
            return (await c.post("/api/payments/webhooks/moov", content=raw, headers=headers)).status_code

    try:
        assert await post("192.0.2.1", "203.0.113.5") == 201  # the proxy saw an allowed address
        assert await post("192.0.2.1", "203.0.113.5, 198.51.100.9") == 403  # spoofed left hop
        assert await post("198.51.100.20", "203.0.113.5") == 403  # not a trusted proxy: header ignored
    finally:
        await app.state.database.dispose()
