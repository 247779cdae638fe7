"""Case statuses and the state machine that refuses invalid transitions."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """Status of a customer's collection case (one case per customer)."""

    NEW = "NEW"
    IN_PROGRESS = "IN_PROGRESS"
    PROMISE = "PROMISE"
    BROKEN_PROMISE = "BROKEN_PROMISE"
    SETTLED = "SETTLED"
    LEGAL = "LEGAL"
    WRITTEN_OFF = "WRITTEN_OFF"


S = CaseStatus
# Allowed moves. SETTLED -> NEW is a re-delinquency reopening; WRITTEN_OFF -> SETTLED a recovery.
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.NEW: frozenset({S.IN_PROGRESS, S.PROMISE, S.SETTLED, S.LEGAL, S.WRITTEN_OFF}),
    S.IN_PROGRESS: frozenset({S.PROMISE, S.SETTLED, S.LEGAL, S.WRITTEN_OFF}),
    S.PROMISE: frozenset({S.IN_PROGRESS, S.BROKEN_PROMISE, S.SETTLED, S.LEGAL}),
    S.BROKEN_PROMISE: frozenset({S.IN_PROGRESS, S.PROMISE, S.SETTLED, S.LEGAL, S.WRITTEN_OFF}),
    S.LEGAL: frozenset({S.SETTLED, S.WRITTEN_OFF, S.PROMISE}),
    S.SETTLED: frozenset({S.NEW}),
    S.WRITTEN_OFF: frozenset({S.SETTLED}),
}
OPEN_STATUSES: frozenset[CaseStatus] = frozenset({S.NEW, S.IN_PROGRESS, S.PROMISE, S.BROKEN_PROMISE, S.LEGAL})
RESOLVED_STATUSES: frozenset[CaseStatus] = frozenset({S.SETTLED, S.WRITTEN_OFF})


class InvalidTransition(Exception):
    """A status change the state machine does not allow."""

    def __init__(self, current: CaseStatus, target: CaseStatus) -> None:
        super().__init__(f"case cannot go from {current} to {target}")
        self.current = current
        self.target = target


def can_transition(current: CaseStatus, target: CaseStatus) -> bool:
    """True if ``current -> target`` is an allowed move."""
    return target in TRANSITIONS[current]


def check_transition(current: CaseStatus, target: CaseStatus) -> CaseStatus:
    """Return ``target`` or raise InvalidTransition (a no-op move is invalid too)."""
    if not can_transition(current, target):
        raise InvalidTransition(current, target)
    return target


def status_after_payment(current: CaseStatus, *, arrears_left: int, promise_kept: bool) -> CaseStatus:
    """Status after a payment: settled when arrears are cleared, worked on after a kept promise."""
    if arrears_left <= 0 and can_transition(current, S.SETTLED):
        return S.SETTLED
    if promise_kept and current == S.PROMISE and arrears_left > 0:
        return S.IN_PROGRESS
    return current


def status_after_delinquency(current: CaseStatus, *, arrears: int, days_past_due: int) -> CaseStatus:
    """Status after bank-sync figures: reopen a settled case late again, settle a cleared one."""
    late = arrears > 0 or days_past_due > 0
    if current == S.SETTLED and late:
        return S.NEW
    if not late and can_transition(current, S.SETTLED):
        return S.SETTLED
    return current
