"""Case management: open/update a case from bank-sync figures, status changes through the state
machine (with history and STATUS_CHANGED), case actions recorded by users, strategy refresh."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from caisse_shared.messaging.outbox import add_event
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.db import repositories as repo
from caisse_collection.db.models import CaseLoan, CustomerCase, CustomerCaseAction, StrategyRule
from caisse_collection.domain.actions import ActionType
from caisse_collection.domain.buckets import bucket_for
from caisse_collection.domain.cases import (
    RESOLVED_STATUSES,
    CaseStatus,
    InvalidTransition,
    check_transition,
    status_after_delinquency,
)
from caisse_collection.domain.strategy import CaseFacts, ReminderLevel, Rule, decide
from caisse_collection.errors import InvalidStatusTransition, RuleViolation
from caisse_collection.services import events
from caisse_collection.services.scope import Actor, check_case

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class LoanFacts:
    """A loan's delinquency figures as bank-sync reports them."""

    account_number: str
    cif: str
    currency: str
    days_past_due: int
    overdue_amount: int
    outstanding_amount: int
    institution_id: str | None
    agency_id: str | None


async def change_status(
    session: AsyncSession, case: CustomerCase, target: CaseStatus, *, by: str, reason: str | None
) -> bool:
    """Move a case through the state machine (409 if refused); False when already there."""
    current = CaseStatus(case.status)
    if current == target:
        return False
    try:
        check_transition(current, target)
    except InvalidTransition as exc:
        raise InvalidStatusTransition(str(exc), current=current.value, target=target.value) from None
    case.status = target.value
    case.updated_at = datetime.now(UTC)
    case.resolved_at = case.updated_at if target in RESOLVED_STATUSES else None
    session.add(
        CustomerCaseAction(
            id=uuid.uuid4(),
            case_id=case.id,
            cif=case.cif,
            action="STATUS_CHANGE",
            from_status=current.value,
            to_status=target.value,
            note=reason,
            actor=by,
            agent_id=case.agent_id,
        )
    )
    await session.flush()
    await add_event(session, events.status_changed(case, current.value, reason, by))
    return True


async def refresh_strategy(
    session: AsyncSession, case: CustomerCase, rules: Sequence[Rule] | None = None
) -> None:
    """Recompute priority, next action and reminder level from the strategy rules."""
    if rules is None:
        rules = [rule_of(r) for r in await repo.strategy_rules(session, case.institution_id)]
    d = decide(CaseFacts(case.days_past_due, case.outstanding_amount, case.broken_promises), rules)
    case.priority, case.next_action = d.priority, d.next_action.value
    case.reminder_level = d.reminder_level.value


def rule_of(row: StrategyRule) -> Rule:
    """Domain rule from a stored strategy row."""
    return Rule(
        row.name,
        row.priority,
        ActionType(row.next_action),
        ReminderLevel(row.reminder_level),
        row.rank,
        row.min_dpd,
        row.max_dpd,
        row.min_outstanding,
        row.max_outstanding,
        row.min_broken_promises,
    )


async def recompute_figures(session: AsyncSession, case: CustomerCase) -> None:
    """Case figures from its loans (amounts summed in the case currency only: never mixed)."""
    loans = await repo.loans_of_case(session, case.id)
    same = [ln for ln in loans if ln.currency == case.currency]
    case.days_past_due = max((ln.days_past_due for ln in loans), default=0)
    case.bucket = bucket_for(case.days_past_due)
    case.overdue_amount = sum(ln.overdue_amount for ln in same)
    case.outstanding_amount = sum(ln.outstanding_amount for ln in same)
    case.updated_at = datetime.now(UTC)


async def _open_case(session: AsyncSession, f: LoanFacts) -> CustomerCase:
    case = CustomerCase(
        id=uuid.uuid4(),
        cif=f.cif,
        institution_id=f.institution_id,
        region=f.agency_id,
        status=CaseStatus.NEW.value,
        currency=f.currency,
        days_past_due=0,
        bucket="CURRENT",
        overdue_amount=0,
        outstanding_amount=0,
        priority=0,
        contact_count=0,
        broken_promises=0,
    )
    session.add(case)
    session.add(
        CustomerCaseAction(
            id=uuid.uuid4(),
            case_id=case.id,
            cif=f.cif,
            action="OPENED",
            from_status=None,
            to_status=CaseStatus.NEW.value,
            note=f"loan {f.account_number} delinquent",
            actor=SYSTEM,
        )
    )
    await session.flush()
    return case


async def _upsert_loan(session: AsyncSession, case: CustomerCase, f: LoanFacts) -> None:
    loan = await session.get(CaseLoan, f.account_number, with_for_update=True)
    if loan is None:
        loan = CaseLoan(account_number=f.account_number, case_id=case.id, cif=f.cif)
        session.add(loan)
    loan.currency, loan.days_past_due = f.currency, f.days_past_due
    loan.bucket = bucket_for(f.days_past_due)
    loan.overdue_amount, loan.outstanding_amount = f.overdue_amount, f.outstanding_amount
    loan.updated_at = datetime.now(UTC)
    await session.flush()


async def apply_loan_facts(session: AsyncSession, f: LoanFacts, *, auto_assign: bool) -> None:
    """Bank-sync figures: open the case of a newly delinquent customer, update it, assign it."""
    from caisse_collection.services.assignments import auto_assign_case

    case = await repo.case_by_cif(session, f.cif, lock=True)
    late = f.days_past_due > 0 or f.overdue_amount > 0
    if case is None and not late:
        return  # a loan in good standing of a customer we do not follow
    opened = case is None
    if case is None:
        case = await _open_case(session, f)
    await _upsert_loan(session, case, f)
    await recompute_figures(session, case)
    if opened:
        await add_event(session, events.status_changed(case, None, "loan delinquent", SYSTEM))
    target = status_after_delinquency(
        CaseStatus(case.status), arrears=case.overdue_amount, days_past_due=case.days_past_due
    )
    await change_status(session, case, target, by=SYSTEM, reason="bank-sync figures")
    await refresh_strategy(session, case)
    if auto_assign and case.status not in {s.value for s in RESOLVED_STATUSES}:
        await auto_assign_case(session, case, by=SYSTEM)


async def record_case_action(
    session: AsyncSession, actor: Actor, cif: str, action: str, to_status: CaseStatus | None, note: str | None
) -> CustomerCaseAction:
    """``POST /api/cases``: a status change (through the state machine) or a note on the case."""
    case = check_case(actor, await repo.case_by_cif(session, cif, lock=True))
    if action == "STATUS_CHANGE":
        if to_status is None:
            raise RuleViolation("to_status is required for a STATUS_CHANGE")
        if not await change_status(session, case, to_status, by=actor.subject, reason=note):
            raise InvalidStatusTransition(f"case is already {to_status}")
        history = await repo.case_history(session, case.id)
        return history[-1]
    row = CustomerCaseAction(
        id=uuid.uuid4(),
        case_id=case.id,
        cif=cif,
        action=action,
        from_status=case.status,
        to_status=case.status,
        note=note,
        actor=actor.subject,
        agent_id=actor.agent_id,
    )
    session.add(row)
    await session.flush()
    return row


async def history(session: AsyncSession, actor: Actor, cif: str) -> Sequence[CustomerCaseAction]:
    """``GET /api/cases/customer/:cif``: the case's history."""
    case = check_case(actor, await repo.case_by_cif(session, cif))
    return await repo.case_history(session, case.id)


async def get_case(session: AsyncSession, actor: Actor, cif: str) -> tuple[CustomerCase, Sequence[CaseLoan]]:
    """The customer's case and its loans."""
    case = check_case(actor, await repo.case_by_cif(session, cif))
    return case, await repo.loans_of_case(session, case.id)
