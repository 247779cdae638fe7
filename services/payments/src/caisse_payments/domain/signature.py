"""Webhook signatures: HMAC-SHA256 over ``timestamp + "." + raw body``, with a time window."""

from __future__ import annotations

import hashlib
import hmac

from caisse_payments.domain.model import SignatureInvalid, TimestampExpired

PREFIX = "sha256="


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for a body sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return PREFIX + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float,
    tolerance_s: int,
) -> None:
    """Raise unless the signature matches and the timestamp is within the window."""
    if not timestamp or not signature:
        raise SignatureInvalid("signature or timestamp header missing")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureInvalid("timestamp must be unix seconds") from None
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureInvalid("signature does not match")
    if abs(now - sent_at) > tolerance_s:
        raise TimestampExpired(f"timestamp is more than {tolerance_s}s away from server time")


def delivery_id(signature: str) -> str:
    """A stable id of one signed delivery (used to reject exact replays)."""
    return hashlib.sha256(signature.strip().encode()).hexdigest()
