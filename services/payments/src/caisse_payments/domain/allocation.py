"""Allocation of a received amount to a loan's dues, in a configurable order."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from caisse_payments.domain.model import Notification, PaymentStatus, TransactionType

CLOSED_LOAN_STATUSES = frozenset({"CLOSED", "WRITTEN_OFF", "SETTLED", "CANCELLED"})


class Component(StrEnum):
    """Parts of a loan's dues."""

    PENALTIES = "PENALTIES"
    INTEREST = "INTEREST"
    PRINCIPAL = "PRINCIPAL"


DEFAULT_ORDER: tuple[Component, ...] = (
    Component.PENALTIES,
    Component.INTEREST,
    Component.PRINCIPAL,
)


@dataclass(frozen=True, slots=True)
class LoanDues:
    """What a loan owes, from the read model fed by bank-sync."""

    account_number: str
    cif: str
    currency: str
    status: str
    penalties: int
    interest: int
    principal: int

    def due(self, component: Component) -> int:
        """Outstanding amount of one component (never negative)."""
        value = {
            Component.PENALTIES: self.penalties,
            Component.INTEREST: self.interest,
            Component.PRINCIPAL: self.principal,
        }[component]
        return max(0, value)


@dataclass(frozen=True, slots=True)
class Allocation:
    """Outcome of allocating one payment."""

    status: PaymentStatus
    penalties: int = 0
    interest: int = 0
    principal: int = 0
    unallocated: int = 0
    review_reason: str | None = None

    @property
    def allocated(self) -> int:
        """Total applied to the loan."""
        return self.penalties + self.interest + self.principal

    def parts(self) -> dict[Component, int]:
        """Non-zero allocated components."""
        raw = {
            Component.PENALTIES: self.penalties,
            Component.INTEREST: self.interest,
            Component.PRINCIPAL: self.principal,
        }
        return {k: v for k, v in raw.items() if v > 0}


def parse_order(names: tuple[str, ...] | list[str]) -> tuple[Component, ...]:
    """Validate a configured order: each component exactly once."""
    order = tuple(Component(n.upper()) for n in names)
    if sorted(order) != sorted(DEFAULT_ORDER):
        raise ValueError("allocation order must name PENALTIES, INTEREST, PRINCIPAL once each")
    return order


def suspense(amount: int, reason: str) -> Allocation:
    """Money kept unallocated for an operator: never rejected, never lost."""
    return Allocation(PaymentStatus.UNALLOCATED, unallocated=amount, review_reason=reason)


def allocate(
    notification: Notification,
    loan: LoanDues | None,
    order: tuple[Component, ...] = DEFAULT_ORDER,
) -> Allocation:
    """Apply the amount to penalties, interest, principal (in ``order``); the rest is suspense."""
    if notification.transaction_type is not TransactionType.REMBOURSEMENT_PRET:
        return Allocation(PaymentStatus.RECEIVED)
    amount = notification.amount
    if notification.account_number is None or loan is None:
        return suspense(amount, "unknown loan account")
    if loan.status.upper() in CLOSED_LOAN_STATUSES:
        return suspense(amount, f"loan is {loan.status.upper()}")
    if loan.currency != notification.currency:
        return suspense(amount, f"currency {notification.currency} differs from loan {loan.currency}")
    remaining = amount
    applied: dict[Component, int] = {}
    for component in order:
        part = min(remaining, loan.due(component))
        applied[component] = part
        remaining -= part
    if remaining == amount:
        return suspense(amount, "loan has nothing outstanding")
    return Allocation(
        PaymentStatus.ALLOCATED,
        penalties=applied[Component.PENALTIES],
        interest=applied[Component.INTEREST],
        principal=applied[Component.PRINCIPAL],
        unallocated=remaining,
        review_reason="overpayment" if remaining else None,
    )
