"""Signed webhooks never answer 500: odd provider input ends as a payment, a review flag or a 4xx."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from payments_testkit import scalar, signed

KKIAPAY = "/api/payments/webhooks/kkiapay"
MTN = "/api/payments/webhooks/mtn-momo"


def _ref() -> str:
    return f"H{uuid.uuid4().hex[:12]}"


def _kkiapay(ref: str, **fields: Any) -> dict[str, Any]:
    return {
        "transactionId": ref,
        "isPaymentSucces": True,
        "amount": 1_000,
        "stateData": {"transaction_type": "depot_epargne"},
        **fields,
    }


async def _post(client: Any, url: str, body: Any) -> Any:
    raw, headers = signed(body)
    return await client.post(url, content=raw, headers=headers)


@pytest.mark.parametrize(
    "amount",
    [
        "\u00b2",
        "\u0661\u0662\u0663",
        "\uff11\uff12\uff13",
        "12\u0663",
        "9" * 5000,
        " ",
        "+5",
        "1e3",
        [],
        {"value": 5},
    ],
)
async def test_amounts_are_ascii_digits_only(client: Any, app: Any, amount: Any) -> None:
    ref = _ref()
    body = {
        "financialTransactionId": ref,
        "amount": amount,
        "currency": "XOF",
        "status": "SUCCESSFUL",
    }
    resp = await _post(client, MTN, body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert await scalar(app, "SELECT count(*) FROM payments.payment WHERE provider_reference=:r", r=ref) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"transactionId": "x", "amount": 1, "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"transactionId": "x", "amount": 1, "deep": ' + b'{"a":' * 50 + b"1" + b"}" * 50 + b"}",
        b'{"transactionId": "T\\ud800", "isPaymentSucces": true, "amount": 10}',
        b'{"transactionId": "T1", "isPaymentSucces": true, "amount": 10, "note": "\\udfff x"}',
        b'{"transactionId": "T1", "isPaymentSucces": true, "amount": 10, "\\ud800": 1}',
        b'{"transactionId": "T\\u0000", "isPaymentSucces": true, "amount": 10}',
        b'{"transactionId": "T1", "isPaymentSucces": true, "amount": 10, "note": "a\\u0000b"}',
        b'{"transactionId": "T1", "isPaymentSucces": true, "amount": 10, "a\\u0000": 1}',
        b'{"transactionId": "T1", "isPaymentSucces": true, "amount": 10, "fee": NaN}',
        b'{"transactionId": "T1", "isPaymentSucces": true, "amount": 10, "fee": -Infinity}',
        b'{"transactionId": "T1", "isPaymentSucces": true, "amount": 10, "fee": 1e400}',
        b'{"transactionId": "T1", "isPaymentSucces": true, "amount": 10, "x": 1}\xff',
    ],
    ids=[
        "nested-100000",
        "nested-50",
        "surrogate-in-reference",
        "surrogate-in-free-text",
        "surrogate-in-key",
        "nul-in-reference",
        "nul-in-free-text",
        "nul-in-key",
        "nan",
        "infinity",
        "overflowing-float",
        "not-utf8",
    ],
)
async def test_bodies_postgresql_cannot_store_are_400(client: Any, raw: bytes) -> None:
    _, headers = signed(raw)
    resp = await client.post(KKIAPAY, content=raw, headers=headers)
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] == "malformed"


@pytest.mark.parametrize("flag", [[], {}, [True], "maybe", None])
async def test_an_odd_success_flag_is_422(client: Any, flag: Any) -> None:
    resp = await _post(client, KKIAPAY, _kkiapay(_ref(), isPaymentSucces=flag))
    assert resp.status_code == 422, resp.text


async def test_json_nested_within_the_limit_is_stored_whole(client: Any, app: Any) -> None:
    ref = _ref()
    deep: Any = "leaf"
    for _ in range(15):  # 31 levels with the body itself: the limit is 32
        deep = {"k": [deep]}
    resp = await _post(client, KKIAPAY, _kkiapay(ref, extra=deep, note="é ü 中文 😀"))
    assert resp.status_code == 201, resp.text
    stored = await scalar(app, "SELECT raw::text FROM payments.payment WHERE provider_reference=:r", r=ref)
    assert json.loads(stored)["extra"] == deep
    assert json.loads(stored)["note"] == "é ü 中文 😀"


@pytest.mark.parametrize("currency", ["ZZZ", "XXX", "xof", "XO", 978, None])
async def test_a_currency_outside_iso_4217_is_422(client: Any, app: Any, currency: Any) -> None:
    ref = _ref()
    body = {"financialTransactionId": ref, "amount": "10", "currency": currency, "status": "SUCCESSFUL"}
    resp = await _post(client, MTN, body)
    assert resp.status_code == 422, resp.text
    assert await scalar(app, "SELECT count(*) FROM payments.payment WHERE provider_reference=:r", r=ref) == 0
