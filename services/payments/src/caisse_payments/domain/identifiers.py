"""Identifiers a provider sends are stored whole or not at all: never cut to fit a column.

A provider reference is the exactly-once key: two references sharing their first 120
characters must stay two payments. One longer than its column is stored as its SHA-256 digest
(``sha256:<hex>``): a retry gives the same digest, so exactly once still holds, and another
reference cannot collide with it. A loan account number, CIF or phone longer than its column
is left out of its column (an account number so long matches no loan: the payment waits in
suspense for an operator). Either way the provider's body is kept whole in the payment's
``raw`` column and the payment is flagged for review, with the reason, where operators see it
(``GET /api/payments/transactions?needs_review=true``, ``/{referenceNumber}/allocation``).

Free text is bounded only where said here: a provider's failure reason is kept to
FREE_TEXT_MAX characters in the payment, its history and the PaymentFailed event (the whole
text is in ``raw``).
"""

from __future__ import annotations

import hashlib

# The columns of db/models.py (a test keeps them equal).
MAX_LENGTH: dict[str, int] = {
    "provider_reference": 120,
    "account_number": 60,
    "cif": 60,
    "payer_phone": 40,
}
DIGEST_PREFIX = "sha256:"
FREE_TEXT_MAX = 500
_LABELS = {
    "provider_reference": "provider reference",
    "account_number": "account number",
    "cif": "CIF",
    "payer_phone": "payer phone",
}


def stored_reference(reference: str) -> tuple[str, str | None]:
    """The provider reference as stored, and the review note when it is its digest."""
    limit = MAX_LENGTH["provider_reference"]
    if len(reference) <= limit:
        return reference, None
    digest = DIGEST_PREFIX + hashlib.sha256(reference.encode("utf-8")).hexdigest()
    return digest, (
        f"provider reference of {len(reference)} characters (more than {limit}) stored as its "
        "SHA-256 digest; the whole reference is in the raw payload"
    )


def stored_identifier(name: str, value: str | None) -> tuple[str | None, str | None]:
    """An account number, CIF or phone as stored (None when too long), and the review note."""
    limit = MAX_LENGTH[name]
    if value is None or len(value) <= limit:
        return value, None
    return None, (
        f"{_LABELS[name]} of {len(value)} characters (more than {limit}) not stored in its "
        "column; the whole value is in the raw payload"
    )


def bounded_free_text(value: str | None) -> str | None:
    """Free text cut to FREE_TEXT_MAX characters, the cut marked with an ellipsis."""
    if value is None or len(value) <= FREE_TEXT_MAX:
        return value
    return value[: FREE_TEXT_MAX - 1] + "…"
