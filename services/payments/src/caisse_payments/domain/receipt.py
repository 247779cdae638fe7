"""Receipt verification codes: an HMAC over the fields a receipt shows."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime


def verification_code(
    secret: str, reference: str, amount: int, currency: str, paid_at: datetime | None
) -> str:
    """A short code printed on the receipt; anyone with it can ask us whether it is genuine."""
    stamp = paid_at.isoformat() if paid_at else ""
    msg = f"{reference}|{amount}|{currency}|{stamp}".encode()
    digest = hmac.new(secret.encode(), msg, hashlib.sha256).digest()
    code = base64.b32encode(digest[:10]).decode()
    return f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:16]}"


def code_matches(expected: str, given: str) -> bool:
    """Constant-time comparison, tolerant of case and spaces."""
    normal = given.strip().upper().replace(" ", "")
    return hmac.compare_digest(expected.encode(), normal.encode())
