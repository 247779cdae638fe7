"""A provider retry of a known reference: does it move the payment on, and does it disagree?

Exactly once: the first delivery makes the payment; a retry never makes a second. A retry can
complete a PENDING or FAILED payment (``completes``). A retry that says something else than
the stored payment (``disagreements``) is still answered with the payment, but its delivery
is recorded as a conflict and the payment flagged for review. A different amount or currency
is refused (409) and recorded too.

``db.intake``'s one-statement fast path answers a retry itself only when it neither completes
nor disagrees; its SQL mirrors these two functions, and a test runs both paths on every case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from caisse_payments.domain.model import Notification, NotificationOutcome, PaymentStatus

REOPENABLE = frozenset({PaymentStatus.PENDING, PaymentStatus.FAILED})


class ConflictKind(StrEnum):
    """Why a delivery was recorded as a conflict."""

    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"  # refused with 409
    CONFLICTING_RETRY = "CONFLICTING_RETRY"  # answered with the stored payment


@dataclass(frozen=True, slots=True)
class StoredPayment:
    """What a retry is compared with."""

    amount: int
    currency: str
    status: str
    account_number: str | None
    cif: str | None
    transaction_type: str


def amount_differs(stored: StoredPayment, n: Notification) -> bool:
    """Another amount or currency under the same reference: refused, never merged."""
    return stored.amount != n.amount or stored.currency != n.currency


def completes(stored: StoredPayment, n: Notification) -> bool:
    """A final outcome for a PENDING payment, or a success for a FAILED one."""
    if stored.status not in REOPENABLE or n.outcome is NotificationOutcome.PENDING:
        return False
    return not (stored.status == PaymentStatus.FAILED and n.outcome is NotificationOutcome.FAILED)


def disagreements(stored: StoredPayment, n: Notification) -> list[str]:
    """What the retry says that the stored payment does not (only what the retry states)."""
    out: list[str] = []
    if n.account_number is not None and n.account_number != stored.account_number:
        out.append(f"account number {n.account_number!r}, stored {stored.account_number!r}")
    if n.cif is not None and n.cif != stored.cif:
        out.append(f"CIF {n.cif!r}, stored {stored.cif!r}")
    if n.type_given and n.transaction_type.value != stored.transaction_type:
        out.append(f"transaction type {n.transaction_type.value}, stored {stored.transaction_type}")
    if n.outcome is NotificationOutcome.FAILED and stored.status not in REOPENABLE:
        out.append(f"outcome FAILED, stored {stored.status}")
    return out
