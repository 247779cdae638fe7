"""Tontine platform flow: initiate at the aggregator, check status, sandbox test, transactions."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from caisse_payments.domain.model import NotificationOutcome
from caisse_payments.services.providers import (
    InitiateRequest,
    KkiapayProvider,
    ProviderUnavailable,
)
from payments_testkit import add_loan, make_settings

INIT = "payments:initiate"


async def _initiate(client: Any, tf: Any, **kw: Any) -> Any:
    body = {
        "amount": 5_000,
        "currency": "XOF",
        "phone": "22997000001",
        "transaction_type": "COTISATION_TONTINE",
        **kw,
    }
    return await client.post(
        "/api/payments/initiate",
        json=body,
        headers={**tf.headers(INIT), "Idempotency-Key": str(uuid.uuid4())},
    )


async def test_initiate_then_check_status_allocates(client: Any, token_factory: Any, app: Any) -> None:
    account = f"LN{uuid.uuid4().hex[:8]}"
    await add_loan(app, account, principal=20_000, interest=0, penalties=0)
    resp = await _initiate(
        client, token_factory, transaction_type="REMBOURSEMENT_PRET", account_number=account
    )
    assert resp.status_code == 201, resp.text
    pending = resp.json()
    assert pending["status"] == "PENDING"
    assert pending["provider_reference"].startswith("SBX-")
    done = await client.post(
        "/api/payments/check-status",
        headers=token_factory.headers(INIT),
        json={"reference_number": pending["reference_number"]},
    )
    assert done.status_code == 200
    assert done.json()["status"] == "ALLOCATED"
    assert done.json()["allocated_principal"] == 5_000
    again = await client.post(
        "/api/payments/check-status",
        headers=token_factory.headers(INIT),
        json={"reference_number": pending["reference_number"]},
    )
    assert again.json()["status"] == "ALLOCATED"


async def test_sandbox_failure_and_forced_outcome(client: Any, token_factory: Any) -> None:
    failing = (await _initiate(client, token_factory, phone="22997000009")).json()
    res = await client.post(
        "/api/payments/check-status",
        headers=token_factory.headers(INIT),
        json={"reference_number": failing["reference_number"]},
    )
    assert res.json()["status"] == "FAILED"
    forced = (await _initiate(client, token_factory, phone="22997000009")).json()
    res = await client.post(
        "/api/payments/sandbox-test",
        headers=token_factory.headers(INIT),
        json={"reference_number": forced["reference_number"], "outcome": "SUCCESS"},
    )
    assert res.json()["status"] == "RECEIVED"
    missing = await client.post(
        "/api/payments/check-status",
        headers=token_factory.headers(INIT),
        json={"reference_number": "PAYNOPE"},
    )
    assert missing.status_code == 404


async def test_transactions_filter_by_type(client: Any, token_factory: Any) -> None:
    await _initiate(client, token_factory, transaction_type="ADHESION_TONTINE")
    rows = (
        await client.get(
            "/api/payments/transactions?transaction_type=ADHESION_TONTINE",
            headers=token_factory.headers("payments:read"),
        )
    ).json()
    assert rows
    assert {r["transaction_type"] for r in rows} == {"ADHESION_TONTINE"}
    bad = await client.get(
        "/api/payments/transactions?transaction_type=NOPE", headers=token_factory.headers("payments:read")
    )
    assert bad.status_code == 422


async def test_initiate_bad_phone_is_422(client: Any, token_factory: Any) -> None:
    assert (await _initiate(client, token_factory, phone="abc")).status_code == 422


async def test_kkiapay_adapter_over_http(db_url: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/status"):
            return httpx.Response(200, json={"transactionId": "KK1", "status": "SUCCESS"})
        return httpx.Response(200, json={"transactionId": "KK1", "status": "PENDING"})

    settings = make_settings(db_url, provider="kkiapay", kkiapay_base_url="https://kk.test")
    provider = KkiapayProvider(settings, transport=httpx.MockTransport(handler))
    started = await provider.initiate(InitiateRequest("PAY1", 100, "XOF", "22990000000", "x"))
    assert (started.provider_reference, started.outcome) == ("KK1", NotificationOutcome.PENDING)
    assert (await provider.status("KK1")).outcome is NotificationOutcome.SUCCESS
    assert seen[0].headers["x-api-key"] == "dev-secret"
    broken = KkiapayProvider(
        settings, transport=httpx.MockTransport(lambda r: httpx.Response(500, text="boom"))
    )
    with pytest.raises(ProviderUnavailable):
        await broken.status("KK1")
    too_long = KkiapayProvider(
        settings,
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, json={"transactionId": "K" * 121, "status": "PENDING"})
        ),
    )
    with pytest.raises(ProviderUnavailable, match="too long"):  # refused, not cut
        await too_long.status("KK1")
