"""Per-channel payload transforms: each aggregator's webhook body -> internal Notification."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from caisse_payments.domain.model import (
    Channel,
    InvalidNotification,
    Notification,
    NotificationOutcome,
    TransactionType,
)

Transform = Callable[[Mapping[str, Any], datetime], Notification]


def _str(data: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise InvalidNotification(f"field {key!r} is required")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidNotification(f"field {key!r} must be a string")
    return str(value)[:120]


# 10**15 (the largest amount) has 16 digits; longer strings are refused before int() parses them.
_AMOUNT_DIGITS = 16


def _amount(value: Any) -> int:
    """Integer minor units; strings of ASCII digits accepted (MTN sends strings), floats never.

    ``str.isdigit`` and ``int`` also take other scripts' digits (``"١٢٣"`` is 123, ``"²"``
    passes isdigit and then fails int): a provider amount is ASCII ``0-9`` only.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidNotification("amount must be an integer of minor units")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        digits = value.strip()
        if 0 < len(digits) <= _AMOUNT_DIGITS and digits.isascii() and digits.isdigit():
            return int(digits)
    raise InvalidNotification("amount must be an integer of minor units (ASCII digits)")


def _time(value: Any, default: datetime) -> datetime:
    if value is None or value == "":
        return default
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 10**11 else value
            return datetime.fromtimestamp(seconds, UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise InvalidNotification("invalid date/time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _type(value: Any) -> TransactionType:
    if value is None or value == "":
        return TransactionType.REMBOURSEMENT_PRET
    try:
        return TransactionType(str(value).upper())
    except ValueError:
        raise InvalidNotification(f"unknown transaction type {value!r}") from None


def _outcome(value: Any, success: set[Any], failed: set[Any]) -> NotificationOutcome:
    if not isinstance(value, str | bool | int | None):  # a list or object: unhashable, no status
        raise InvalidNotification("status must be a string or a boolean")
    if value in success:
        return NotificationOutcome.SUCCESS
    if value in failed:
        return NotificationOutcome.FAILED
    if str(value).upper() in {"PENDING", "INITIATED"}:
        return NotificationOutcome.PENDING
    raise InvalidNotification(f"unknown status {value!r}")


def from_generic(data: Mapping[str, Any], now: datetime) -> Notification:
    """``POST /api/payments/notification`` body (the suite's own PaymentNotification)."""
    try:
        channel = Channel(str(data.get("channel", "")).upper())
    except ValueError:
        raise InvalidNotification("unknown channel") from None
    return Notification(
        channel=channel,
        provider_reference=_str(data, "providerReference") or "",
        amount=_amount(data.get("amount")),
        currency=_str(data, "currency") or "",
        outcome=_outcome(str(data.get("status", "SUCCESS")).upper(), {"SUCCESS"}, {"FAILED"}),
        paid_at=_time(data.get("paidAt"), now),
        account_number=_str(data, "accountNumber", required=False),
        cif=_str(data, "cif", required=False),
        transaction_type=_type(data.get("transactionType")),
        payer_phone=_str(data, "payerPhone", required=False),
        failure_reason=_str(data, "failureReason", required=False),
        raw=dict(data),
    )


def from_kkiapay(data: Mapping[str, Any], now: datetime) -> Notification:
    """KKiaPay-style aggregator: transactionId, isPaymentSucces, amount, stateData."""
    state = data.get("stateData") or {}
    if not isinstance(state, Mapping):
        raise InvalidNotification("stateData must be an object")
    ok = data.get("isPaymentSucces", data.get("isPaymentSuccess"))
    return Notification(
        channel=Channel.KKIAPAY,
        provider_reference=_str(data, "transactionId") or "",
        amount=_amount(data.get("amount")),
        currency=str(data.get("currency") or "XOF"),
        outcome=_outcome(ok, {True}, {False}),
        paid_at=_time(data.get("performedAt"), now),
        account_number=_str(state, "account_number", required=False),
        cif=_str(state, "cif", required=False),
        transaction_type=_type(state.get("transaction_type")),
        payer_phone=_str(data, "account", required=False),
        failure_reason=_str(data, "failureMessage", required=False),
        raw=dict(data),
    )


def from_mtn_momo(data: Mapping[str, Any], now: datetime) -> Notification:
    """MTN MoMo collection callback: financialTransactionId, externalId, payer.partyId."""
    payer = data.get("payer") or {}
    if not isinstance(payer, Mapping):
        raise InvalidNotification("payer must be an object")
    reason = data.get("reason")
    return Notification(
        channel=Channel.MTN_MOMO,
        provider_reference=_str(data, "financialTransactionId") or "",
        amount=_amount(data.get("amount")),
        currency=_str(data, "currency") or "",
        outcome=_outcome(str(data.get("status", "")).upper(), {"SUCCESSFUL"}, {"FAILED", "REJECTED"}),
        paid_at=_time(data.get("timestamp"), now),
        account_number=_str(data, "externalId", required=False),
        transaction_type=_type(data.get("payeeNote")),
        payer_phone=_str(payer, "partyId", required=False),
        failure_reason=str(reason)[:200] if reason else None,
        raw=dict(data),
    )


def from_moov(data: Mapping[str, Any], now: datetime) -> Notification:
    """Moov Money callback: transid, status "0" = success, reference = loan account."""
    return Notification(
        channel=Channel.MOOV,
        provider_reference=_str(data, "transid") or "",
        amount=_amount(data.get("amount")),
        currency=str(data.get("currency") or "XOF"),
        outcome=_outcome(str(data.get("status", "")), {"0"}, {"1", "-1", "FAILED"}),
        paid_at=_time(data.get("date"), now),
        account_number=_str(data, "reference", required=False),
        transaction_type=_type(data.get("transactionType")),
        payer_phone=_str(data, "msisdn", required=False),
        failure_reason=_str(data, "message", required=False),
        raw=dict(data),
    )


def from_bank_transfer(data: Mapping[str, Any], now: datetime) -> Notification:
    """Bank credit transfer advice: transferId, valueDate, remittanceInformation = account."""
    return Notification(
        channel=Channel.BANK_TRANSFER,
        provider_reference=_str(data, "transferId") or "",
        amount=_amount(data.get("amount")),
        currency=_str(data, "currency") or "",
        outcome=_outcome(str(data.get("status", "BOOKED")).upper(), {"BOOKED"}, {"REJECTED"}),
        paid_at=_time(data.get("valueDate"), now),
        account_number=_str(data, "remittanceInformation", required=False),
        cif=_str(data, "cif", required=False),
        transaction_type=_type(data.get("transactionType")),
        raw=dict(data),
    )


TRANSFORMS: dict[str, tuple[Channel | None, Transform]] = {
    "notification": (None, from_generic),
    "kkiapay": (Channel.KKIAPAY, from_kkiapay),
    "mtn-momo": (Channel.MTN_MOMO, from_mtn_momo),
    "moov": (Channel.MOOV, from_moov),
    "bank-transfer": (Channel.BANK_TRANSFER, from_bank_transfer),
}
