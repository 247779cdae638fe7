"""Action types, results and the validation of a recorded action (step 1 of the recording flow)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class ActionType(StrEnum):
    """What the agent did."""

    CALL = "CALL"
    SMS = "SMS"
    EMAIL = "EMAIL"
    VISIT = "VISIT"
    LETTER = "LETTER"
    PROMISE_TO_PAY = "PROMISE_TO_PAY"
    NOTE = "NOTE"
    LEGAL_NOTICE = "LEGAL_NOTICE"


class ActionResult(StrEnum):
    """Outcome of an action."""

    CONTACTED = "CONTACTED"
    NO_ANSWER = "NO_ANSWER"
    WRONG_NUMBER = "WRONG_NUMBER"
    PROMISED = "PROMISED"
    REFUSED = "REFUSED"
    PAID = "PAID"
    DISPUTE = "DISPUTE"
    CALLBACK = "CALLBACK"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


# Actions that count as a contact attempt in performance figures.
CONTACT_TYPES: frozenset[ActionType] = frozenset(
    {
        ActionType.CALL,
        ActionType.SMS,
        ActionType.EMAIL,
        ActionType.VISIT,
        ActionType.LETTER,
        ActionType.PROMISE_TO_PAY,
    }
)


class ActionInvalid(ValueError):
    """An action breaks a business rule."""


@dataclass(frozen=True, slots=True)
class PromiseTerms:
    """What the customer promised: an amount by a date."""

    amount: int
    currency: str
    due_date: date


def validate_promise(
    action_type: ActionType, promise: PromiseTerms | None, *, today: date, max_days: int
) -> None:
    """A promise to pay needs positive terms due within ``max_days``; other actions carry none."""
    if action_type != ActionType.PROMISE_TO_PAY:
        if promise is not None:
            raise ActionInvalid("only a PROMISE_TO_PAY action carries promise terms")
        return
    if promise is None:
        raise ActionInvalid("a PROMISE_TO_PAY action needs promise_amount and promise_date")
    if promise.amount <= 0:
        raise ActionInvalid("promise_amount must be positive")
    if promise.due_date < today:
        raise ActionInvalid("promise_date is in the past")
    if (promise.due_date - today).days > max_days:
        raise ActionInvalid(f"promise_date is more than {max_days} days ahead")
