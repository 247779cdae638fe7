"""Promise-to-pay coverage: a payment keeps a promise when it covers it on time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class PromiseStatus(StrEnum):
    """Lifecycle of a promise to pay."""

    PENDING = "PENDING"
    KEPT = "KEPT"
    BROKEN = "BROKEN"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of a payment a promise takes, and whether that keeps it."""

    applied: int
    paid_total: int
    kept: bool


def apply_payment(
    *,
    promised: int,
    already_paid: int,
    payment: int,
    made_on: date,
    due_date: date,
    promised_on: date,
) -> Coverage:
    """Apply a payment to a pending promise: it counts only if paid between promise and due date."""
    if payment <= 0 or made_on > due_date or made_on < promised_on:
        return Coverage(applied=0, paid_total=already_paid, kept=False)
    applied = min(payment, max(promised - already_paid, 0))
    total = already_paid + applied
    return Coverage(applied=applied, paid_total=total, kept=total >= promised)


def is_broken(status: PromiseStatus, due_date: date, today: date) -> bool:
    """A pending promise whose date has passed uncovered is broken."""
    return status == PromiseStatus.PENDING and due_date < today


def after_reversal(
    paid_total: int, reversed_amount: int, promised: int, due_date: date, today: date
) -> tuple[int, PromiseStatus]:
    """Paid total and status of a promise after a payment that covered it is reversed."""
    paid = max(paid_total - reversed_amount, 0)
    if paid >= promised:
        return paid, PromiseStatus.KEPT
    return paid, PromiseStatus.BROKEN if due_date < today else PromiseStatus.PENDING
