"""Unit tests of the pure domain: case state machine, promises, strategy, balancer, validation."""

from __future__ import annotations

from datetime import date

import pytest
from caisse_collection.domain.actions import (
    ActionInvalid,
    ActionType,
    PromiseTerms,
    validate_promise,
)
from caisse_collection.domain.assignment import AgentLoad, Balancer, CaseToAssign, workload_ratio
from caisse_collection.domain.buckets import bucket_for
from caisse_collection.domain.cases import (
    CaseStatus as S,
)
from caisse_collection.domain.cases import (
    InvalidTransition,
    check_transition,
    status_after_delinquency,
    status_after_payment,
)
from caisse_collection.domain.promises import (
    PromiseStatus,
    after_reversal,
    apply_payment,
    is_broken,
)
from caisse_collection.domain.strategy import CaseFacts, ReminderLevel, Rule, decide

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.NEW, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.PROMISE),
        (S.PROMISE, S.BROKEN_PROMISE),
        (S.BROKEN_PROMISE, S.PROMISE),
        (S.PROMISE, S.SETTLED),
        (S.LEGAL, S.WRITTEN_OFF),
        (S.SETTLED, S.NEW),
        (S.WRITTEN_OFF, S.SETTLED),
    ],
)
def test_allowed_transitions(current: S, target: S) -> None:
    assert check_transition(current, target) == target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.NEW, S.BROKEN_PROMISE),
        (S.SETTLED, S.PROMISE),
        (S.WRITTEN_OFF, S.IN_PROGRESS),
        (S.LEGAL, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.NEW),
    ],
)
def test_refused_transitions(current: S, target: S) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(current, target)


def test_payment_settles_or_returns_to_work() -> None:
    assert status_after_payment(S.PROMISE, arrears_left=0, promise_kept=True) == S.SETTLED
    assert status_after_payment(S.PROMISE, arrears_left=10, promise_kept=True) == S.IN_PROGRESS
    assert status_after_payment(S.IN_PROGRESS, arrears_left=10, promise_kept=False) == S.IN_PROGRESS


def test_delinquency_reopens_and_settles() -> None:
    assert status_after_delinquency(S.SETTLED, arrears=5, days_past_due=3) == S.NEW
    assert status_after_delinquency(S.IN_PROGRESS, arrears=0, days_past_due=0) == S.SETTLED
    assert status_after_delinquency(S.LEGAL, arrears=5, days_past_due=100) == S.LEGAL


def test_buckets() -> None:
    assert [bucket_for(d) for d in (0, 1, 30, 31, 61, 91)] == [
        "CURRENT",
        "1-30",
        "1-30",
        "31-60",
        "61-90",
        "90+",
    ]


def test_promise_kept_when_covered_in_window() -> None:
    cov = apply_payment(
        promised=100, already_paid=40, payment=70, made_on=TODAY, due_date=TODAY, promised_on=date(2026, 3, 1)
    )
    assert (cov.applied, cov.paid_total, cov.kept) == (60, 100, True)
    partial = apply_payment(
        promised=100, already_paid=0, payment=30, made_on=TODAY, due_date=TODAY, promised_on=TODAY
    )
    assert (partial.applied, partial.kept) == (30, False)


def test_late_or_early_payment_does_not_keep_promise() -> None:
    late = apply_payment(
        promised=100,
        already_paid=0,
        payment=100,
        made_on=date(2026, 3, 11),
        due_date=TODAY,
        promised_on=date(2026, 3, 1),
    )
    early = apply_payment(
        promised=100,
        already_paid=0,
        payment=100,
        made_on=date(2026, 2, 28),
        due_date=TODAY,
        promised_on=date(2026, 3, 1),
    )
    assert late.applied == early.applied == 0


def test_broken_and_reversal() -> None:
    assert is_broken(PromiseStatus.PENDING, date(2026, 3, 9), TODAY)
    assert not is_broken(PromiseStatus.PENDING, TODAY, TODAY)
    assert not is_broken(PromiseStatus.KEPT, date(2026, 3, 1), TODAY)
    assert after_reversal(100, 100, 100, date(2026, 3, 1), TODAY) == (0, PromiseStatus.BROKEN)
    assert after_reversal(100, 100, 100, TODAY, TODAY) == (0, PromiseStatus.PENDING)


def test_default_strategy_by_bucket() -> None:
    assert decide(CaseFacts(5, 1000)).reminder_level == ReminderLevel.FRIENDLY
    assert decide(CaseFacts(45, 1000)).reminder_level == ReminderLevel.FIRM
    d = decide(CaseFacts(75, 1000))
    assert (d.reminder_level, d.next_action) == (ReminderLevel.FINAL, ActionType.VISIT)


def test_broken_promises_escalate() -> None:
    plain, escalated = decide(CaseFacts(5, 1000)), decide(CaseFacts(5, 1000, broken_promises=2))
    assert escalated.reminder_level == ReminderLevel.FIRM
    assert escalated.priority == plain.priority + 20


def test_custom_rules_by_amount_and_rank() -> None:
    rules = [
        Rule("big", 95, ActionType.VISIT, ReminderLevel.FIRM, rank=1, min_outstanding=1_000_000),
        Rule("rest", 10, ActionType.SMS, ReminderLevel.FRIENDLY, rank=2),
    ]
    assert decide(CaseFacts(3, 2_000_000), rules).rule == "big"
    assert decide(CaseFacts(3, 5_000), rules).rule == "rest"


def test_validate_promise() -> None:
    terms = PromiseTerms(1000, "XOF", date(2026, 3, 20))
    validate_promise(ActionType.PROMISE_TO_PAY, terms, today=TODAY, max_days=30)
    for bad in (
        None,
        PromiseTerms(0, "XOF", date(2026, 3, 20)),
        PromiseTerms(10, "XOF", date(2026, 3, 1)),
        PromiseTerms(10, "XOF", date(2026, 6, 1)),
    ):
        with pytest.raises(ActionInvalid):
            validate_promise(ActionType.PROMISE_TO_PAY, bad, today=TODAY, max_days=30)
    with pytest.raises(ActionInvalid):
        validate_promise(ActionType.CALL, terms, today=TODAY, max_days=30)


def test_balancer_balances_count_and_amount() -> None:
    agents = [AgentLoad(f"a{i}") for i in range(10)]
    cases = [CaseToAssign(f"c{i}", 1000 + (i % 97) * 5000, "1-30") for i in range(2000)]
    placed = Balancer(agents).assign_all(cases)
    assert len(placed) == 2000
    count_ratio, amount_ratio = workload_ratio(agents)
    assert count_ratio < 1.2
    assert amount_ratio < 1.2


def test_balancer_respects_bucket_region_capacity_and_previous_agent() -> None:
    early = AgentLoad("early", buckets=frozenset({"1-30"}), region="north")
    late = AgentLoad("late", buckets=frozenset({"90+"}))
    small = AgentLoad("small", capacity=1)
    b = Balancer([early, late, small])
    assert b.place(CaseToAssign("c1", 100, "90+", "south")) in {"late", "small"}
    assert b.place(CaseToAssign("c2", 100, "1-30", "south")) in {"small", None}
    placed = b.assign_all([CaseToAssign(f"x{i}", 100, "90+") for i in range(5)])
    assert set(placed.values()) <= {"late", "small"}
    assert small.count <= 1
    assert b.place(CaseToAssign("c9", 100, "1-30", "north", previous_agent_id="early")) == "early"
    assert b.place(CaseToAssign("c10", 100, "61-90")) is None  # nobody handles 61-90 with room
