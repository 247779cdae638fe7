"""Per-channel payload transforms: each aggregator's webhook body -> internal Notification.

Each transform reads only the fields its docstring names. Identifiers are never cut to fit
(``domain.identifiers``: too long is stored as a digest or left out, and flagged for review).
The transaction type comes from a documented field only: MTN MoMo and Moov callbacks have
none (MTN's ``payeeNote`` is free text for the payee's statement), so their payments take the
default type; a value that is no transaction type takes the default too, flagged for review,
never refused (the money is recorded).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from caisse_payments.domain.identifiers import (
    bounded_free_text,
    stored_identifier,
    stored_reference,
)
from caisse_payments.domain.model import (
    Channel,
    InvalidNotification,
    Notification,
    NotificationOutcome,
    TransactionType,
)

Transform = Callable[[Mapping[str, Any], datetime], Notification]
DEFAULT_TYPE = TransactionType.REMBOURSEMENT_PRET
# 10**15 (the largest amount) has 16 digits; longer strings are refused before int() parses them.
_AMOUNT_DIGITS = 16
_STORED_IDENTIFIERS = ("account_number", "cif", "payer_phone")


def _str(data: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    """A string (or integer) field, whole."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise InvalidNotification(f"field {key!r} is required")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidNotification(f"field {key!r} must be a string")
    return str(value)


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise InvalidNotification(f"{key} must be an object")
    return value


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


def _type(value: Any, notes: list[str]) -> tuple[TransactionType, bool]:
    """The type a documented field names, and whether it named one; otherwise the default."""
    if value is None or value == "":
        return DEFAULT_TYPE, False
    try:
        return TransactionType(str(value).upper()), True
    except ValueError:
        quoted = str(value)[:60]  # only quoted in the note: the whole value is in the raw payload
        notes.append(f"unknown transaction type {quoted!r}: recorded as {DEFAULT_TYPE.value}")
        return DEFAULT_TYPE, False


def _outcome(value: Any, success: set[Any], failed: set[Any]) -> NotificationOutcome:
    if not isinstance(value, str | bool | int | None):  # a list or object: unhashable, no status
        raise InvalidNotification("status must be a string or a boolean")
    if value in success:
        return NotificationOutcome.SUCCESS
    if value in failed:
        return NotificationOutcome.FAILED
    if str(value).upper() in {"PENDING", "INITIATED"}:
        return NotificationOutcome.PENDING
    raise InvalidNotification(f"unknown status {str(value)[:40]!r}")


def _build(channel: Channel, data: Mapping[str, Any], fields: dict[str, Any]) -> Notification:
    """The Notification: identifiers as stored, the type parsed, review notes collected."""
    notes: list[str] = []
    reference, note = stored_reference(fields.pop("provider_reference") or "")
    notes += [note] if note else []
    for name in _STORED_IDENTIFIERS:
        fields[name], note = stored_identifier(name, fields.get(name))
        notes += [note] if note else []
    kind, given = _type(fields.pop("transaction_type", None), notes)
    fields["failure_reason"] = bounded_free_text(fields.get("failure_reason"))
    return Notification(
        channel=channel,
        provider_reference=reference,
        transaction_type=kind,
        type_given=given,
        review_notes=tuple(notes),
        raw=dict(data),
        **fields,
    )


def from_generic(data: Mapping[str, Any], now: datetime) -> Notification:
    """``POST /api/payments/notification`` (the suite's PaymentNotification): channel,
    providerReference, amount, currency, status, paidAt, accountNumber, cif, transactionType,
    payerPhone, failureReason."""
    try:
        channel = Channel(str(data.get("channel", "")).upper())
    except ValueError:
        raise InvalidNotification("unknown channel") from None
    fields = {
        "provider_reference": _str(data, "providerReference"),
        "amount": _amount(data.get("amount")),
        "currency": _str(data, "currency") or "",
        "outcome": _outcome(str(data.get("status", "SUCCESS")).upper(), {"SUCCESS"}, {"FAILED"}),
        "paid_at": _time(data.get("paidAt"), now),
        "account_number": _str(data, "accountNumber", required=False),
        "cif": _str(data, "cif", required=False),
        "transaction_type": data.get("transactionType"),
        "payer_phone": _str(data, "payerPhone", required=False),
        "failure_reason": _str(data, "failureReason", required=False),
    }
    return _build(channel, data, fields)


def from_kkiapay(data: Mapping[str, Any], now: datetime) -> Notification:
    """KKiaPay-style aggregator: transactionId, isPaymentSucces, amount, currency, performedAt,
    account (payer phone), failureMessage, and our stateData (account_number, cif,
    transaction_type)."""
    state = _object(data, "stateData")
    ok = data.get("isPaymentSucces", data.get("isPaymentSuccess"))
    fields = {
        "provider_reference": _str(data, "transactionId"),
        "amount": _amount(data.get("amount")),
        "currency": str(data.get("currency") or "XOF"),
        "outcome": _outcome(ok, {True}, {False}),
        "paid_at": _time(data.get("performedAt"), now),
        "account_number": _str(state, "account_number", required=False),
        "cif": _str(state, "cif", required=False),
        "transaction_type": state.get("transaction_type"),
        "payer_phone": _str(data, "account", required=False),
        "failure_reason": _str(data, "failureMessage", required=False),
    }
    return _build(Channel.KKIAPAY, data, fields)


def _msisdn(payer: Mapping[str, Any]) -> str | None:
    """MTN's payer partyId when it is a phone number (partyIdType MSISDN, the default)."""
    kind = payer.get("partyIdType")
    if kind not in (None, "", "MSISDN"):
        return None  # EMAIL or PARTY_CODE: not a phone (the raw payload keeps it)
    return _str(payer, "partyId", required=False)


def _mtn_reason(value: Any) -> str | None:
    """MTN's reason: a code, or an ErrorReason object {code, message}."""
    if isinstance(value, Mapping):
        parts = [str(value[k]) for k in ("code", "message") if value.get(k)]
        return ": ".join(parts) or None
    return str(value) if value not in (None, "") else None


def from_mtn_momo(data: Mapping[str, Any], now: datetime) -> Notification:
    """MTN MoMo request-to-pay callback: financialTransactionId, externalId (our reference: the
    loan account), amount, currency, payer {partyIdType, partyId}, status, reason. payerMessage
    and payeeNote are free text, and nothing in the callback is a transaction type."""
    payer = _object(data, "payer")
    status = str(data.get("status", "")).upper()
    fields = {
        "provider_reference": _str(data, "financialTransactionId"),
        "amount": _amount(data.get("amount")),
        "currency": _str(data, "currency") or "",
        "outcome": _outcome(status, {"SUCCESSFUL"}, {"FAILED", "REJECTED"}),
        "paid_at": _time(data.get("timestamp"), now),
        "account_number": _str(data, "externalId", required=False),
        "payer_phone": _msisdn(payer),
        "failure_reason": _mtn_reason(data.get("reason")),
    }
    return _build(Channel.MTN_MOMO, data, fields)


def from_moov(data: Mapping[str, Any], now: datetime) -> Notification:
    """Moov Money callback: transid, amount, currency, status ("0" = success), date, reference
    (the loan account), msisdn, message. It carries no transaction type."""
    fields = {
        "provider_reference": _str(data, "transid"),
        "amount": _amount(data.get("amount")),
        "currency": str(data.get("currency") or "XOF"),
        "outcome": _outcome(str(data.get("status", "")), {"0"}, {"1", "-1", "FAILED"}),
        "paid_at": _time(data.get("date"), now),
        "account_number": _str(data, "reference", required=False),
        "payer_phone": _str(data, "msisdn", required=False),
        "failure_reason": _str(data, "message", required=False),
    }
    return _build(Channel.MOOV, data, fields)


def from_bank_transfer(data: Mapping[str, Any], now: datetime) -> Notification:
    """Bank credit transfer advice (our format): transferId, amount, currency, status (BOOKED |
    REJECTED), valueDate, remittanceInformation (the loan account), cif, transactionType."""
    fields = {
        "provider_reference": _str(data, "transferId"),
        "amount": _amount(data.get("amount")),
        "currency": _str(data, "currency") or "",
        "outcome": _outcome(str(data.get("status", "BOOKED")).upper(), {"BOOKED"}, {"REJECTED"}),
        "paid_at": _time(data.get("valueDate"), now),
        "account_number": _str(data, "remittanceInformation", required=False),
        "cif": _str(data, "cif", required=False),
        "transaction_type": data.get("transactionType"),
    }
    return _build(Channel.BANK_TRANSFER, data, fields)


TRANSFORMS: dict[str, tuple[Channel | None, Transform]] = {
    "notification": (None, from_generic),
    "kkiapay": (Channel.KKIAPAY, from_kkiapay),
    "mtn-momo": (Channel.MTN_MOMO, from_mtn_momo),
    "moov": (Channel.MOOV, from_moov),
    "bank-transfer": (Channel.BANK_TRANSFER, from_bank_transfer),
}
