"""Payment domain types: channels, transaction types, statuses, notifications and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from caisse_shared.errors import Conflict, NotFound, Unauthorized, Unprocessable

from caisse_payments.domain.currencies import ISO_4217


class Channel(StrEnum):
    """Where money came from."""

    KKIAPAY = "KKIAPAY"
    MTN_MOMO = "MTN_MOMO"
    MOOV = "MOOV"
    BANK_TRANSFER = "BANK_TRANSFER"
    BRANCH = "BRANCH"
    PARTNER = "PARTNER"


class TransactionType(StrEnum):
    """Transaction types of the tontine platform's payments module."""

    ADHESION_TONTINE = "ADHESION_TONTINE"
    COTISATION_TONTINE = "COTISATION_TONTINE"
    RETRAIT_TONTINE = "RETRAIT_TONTINE"
    FRAIS_CREATION_EPARGNE = "FRAIS_CREATION_EPARGNE"
    DEPOT_EPARGNE = "DEPOT_EPARGNE"
    RETRAIT_EPARGNE = "RETRAIT_EPARGNE"
    REMBOURSEMENT_PRET = "REMBOURSEMENT_PRET"


class PaymentStatus(StrEnum):
    """Payment states; every change is kept in payment_history."""

    PENDING = "PENDING"  # initiated towards an aggregator, not confirmed yet
    RECEIVED = "RECEIVED"  # money in, not a loan repayment (tontine, savings)
    ALLOCATED = "ALLOCATED"  # applied to a loan's dues
    UNALLOCATED = "UNALLOCATED"  # suspense: unknown/closed loan, flagged for an operator
    FAILED = "FAILED"
    REVERSED = "REVERSED"  # original payment taken back
    REVERSAL = "REVERSAL"  # the reversal record itself


FINAL_RECEIVED = frozenset({PaymentStatus.RECEIVED, PaymentStatus.ALLOCATED, PaymentStatus.UNALLOCATED})


class NotificationOutcome(StrEnum):
    """What a provider says happened."""

    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    PENDING = "PENDING"


@dataclass(frozen=True, slots=True)
class Notification:
    """A provider notification transformed to the internal model (validated)."""

    channel: Channel
    provider_reference: str
    amount: int
    currency: str
    outcome: NotificationOutcome
    paid_at: datetime
    account_number: str | None = None
    cif: str | None = None
    transaction_type: TransactionType = TransactionType.REMBOURSEMENT_PRET
    payer_phone: str | None = None
    failure_reason: str | None = None
    raw: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        """Enforce the invariants every channel shares."""
        validate_money(self.amount, self.currency)
        if not self.provider_reference or len(self.provider_reference) > 120:
            raise InvalidNotification("provider reference missing or longer than 120 characters")
        if self.paid_at.tzinfo is None:
            raise InvalidNotification("paid_at must carry a time zone")


def validate_money(amount: int, currency: str) -> None:
    """Money is a positive int of minor units plus an ISO 4217 code."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidNotification("amount must be a positive integer of minor units")
    if amount > 10**15:
        raise InvalidNotification("amount out of range")
    if not is_currency(currency):
        raise InvalidNotification("currency must be an ISO 4217 code")


def is_currency(code: object) -> bool:
    """An ISO 4217 code with a minor unit (``domain.currencies``: XOF yes, ZZZ and XXX no)."""
    return isinstance(code, str) and code in ISO_4217


class InvalidNotification(Unprocessable):
    """The notification is malformed or incomplete."""

    title, code = "Invalid payment notification", "invalid_notification"


class SignatureInvalid(Unauthorized):
    """Webhook signature missing or wrong."""

    title, code = "Invalid webhook signature", "signature_invalid"


class TimestampExpired(Unauthorized):
    """Webhook timestamp outside the accepted window."""

    title, code = "Webhook timestamp outside the window", "timestamp_expired"


class WebhookReplayed(Conflict):
    """This exact signed delivery was already received."""

    title, code = "Webhook delivery replayed", "webhook_replayed"


class PaymentNotFound(NotFound):
    """No payment with this reference."""

    title, code = "Payment not found", "payment_not_found"


class InvalidTransition(Conflict):
    """The payment is not in a state allowing this action."""

    title, code = "Invalid payment state", "invalid_payment_state"


class DuplicateMismatch(Conflict):
    """Same provider reference with a different amount or currency."""

    title, code = "Provider reference already used", "provider_reference_mismatch"


class UnknownLoan(Unprocessable):
    """No loan with that account number in the read model (or outside the caller's scope)."""

    title, code = "Unknown loan account", "unknown_loan"


class AllocationRefused(Unprocessable):
    """The loan cannot take the payment (closed, other currency, nothing outstanding)."""

    title, code = "Loan cannot take this payment", "allocation_refused"
