"""Payment domain types: channels, transaction types, statuses, notifications and errors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from caisse_shared.errors import Conflict, NotFound, Unauthorized, Unprocessable

from caisse_payments.domain.currencies import ISO_4217
from caisse_payments.domain.identifiers import MAX_LENGTH


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
    # Why the payment must be looked at although it is recorded (stored in review_reason).
    review_notes: tuple[str, ...] = ()
    # False when the provider said nothing of the type (the default applies, nothing to compare).
    type_given: bool = True

    def __post_init__(self) -> None:
        """Enforce the invariants every channel shares."""
        validate_money(self.amount, self.currency)
        limit = MAX_LENGTH["provider_reference"]
        if not self.provider_reference or len(self.provider_reference) > limit:
            raise InvalidNotification(f"provider reference missing or longer than {limit} characters")
        if self.paid_at.tzinfo is None:
            raise InvalidNotification("paid_at must carry a time zone")


@dataclass(frozen=True, slots=True)
class DateBounds:
    """Payment dates believed as sent: from ``floor`` to ``max_ahead`` after reception."""

    floor: datetime
    max_ahead: timedelta

    @classmethod
    def of(cls, floor: date, max_ahead_s: float) -> DateBounds:
        """From the settings (a date, seconds)."""
        return cls(datetime.combine(floor, time.min, UTC), timedelta(seconds=max_ahead_s))

    def contains(self, moment: datetime, now: datetime) -> bool:
        """Whether a payment date is believable when received at ``now``."""
        return self.floor <= moment <= now + self.max_ahead

    def check(self, moment: datetime, now: datetime) -> None:
        """Refuse (422) a date an operator or partner typed outside the bounds."""
        if not self.contains(moment, now):
            raise InvalidNotification(
                f"paid_at {moment.isoformat()} is before {self.floor:%Y-%m-%d} or too far ahead"
            )


def check_paid_at(n: Notification, now: datetime, bounds: DateBounds) -> Notification:
    """A success dated before the floor or too far ahead: received now, flagged for review.

    Year 1 or 2099 would distort reconciliation and reports (and year 1 in a time zone east
    of UTC does not even convert to UTC); the provider's date stays in the raw payload.
    """
    if n.outcome is not NotificationOutcome.SUCCESS:
        return n  # paid_at is only stored for a success
    if bounds.contains(n.paid_at, now):
        return n
    ceiling = now + bounds.max_ahead
    note = (
        f"provider date {n.paid_at.isoformat()} outside {bounds.floor:%Y-%m-%d} .. "
        f"{ceiling:%Y-%m-%d %H:%M} UTC; paid_at is the time received"
    )
    return dataclasses.replace(n, paid_at=now, review_notes=(*n.review_notes, note))


def review_reason(*reasons: str | None) -> str | None:
    """The review reasons of a payment as one text (None when there is none)."""
    kept = [r for r in reasons if r]
    return "; ".join(kept) if kept else None


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
