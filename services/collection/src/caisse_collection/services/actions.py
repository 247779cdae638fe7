"""Action tracking: the recording flow of §3.2 (validate -> authorise -> store -> update
statistics -> workflow triggers -> notify/publish) and result updates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from caisse_shared.messaging.outbox import add_event
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.db import repositories as repo
from caisse_collection.db.models import (
    ActionRecord,
    ActionResultRow,
    CaseLoan,
    CustomerCase,
    PromiseToPay,
)
from caisse_collection.domain.actions import (
    CONTACT_TYPES,
    ActionInvalid,
    ActionResult,
    ActionType,
    PromiseTerms,
    validate_promise,
)
from caisse_collection.domain.cases import CaseStatus, can_transition
from caisse_collection.domain.promises import PromiseStatus
from caisse_collection.errors import ActionNotFound, RuleViolation
from caisse_collection.services import events
from caisse_collection.services.cases import change_status
from caisse_collection.services.scope import Actor, check_case

# Workflow triggers: the status an action moves the case to, when the state machine allows it.
_TRIGGERS: dict[ActionType, CaseStatus] = {
    ActionType.PROMISE_TO_PAY: CaseStatus.PROMISE,
    ActionType.LEGAL_NOTICE: CaseStatus.LEGAL,
}


@dataclass(frozen=True, slots=True)
class ActionInput:
    """What a user records."""

    cif: str
    action_type: ActionType
    account_number: str | None = None
    result: ActionResult | None = None
    notes: str | None = None
    promise: PromiseTerms | None = None


async def _validate(
    session: AsyncSession, case: CustomerCase, data: ActionInput, max_promise_days: int
) -> None:
    try:
        validate_promise(
            data.action_type, data.promise, today=datetime.now(UTC).date(), max_days=max_promise_days
        )
    except ActionInvalid as exc:
        raise RuleViolation(str(exc)) from None
    if data.promise is not None and data.promise.currency != case.currency:
        raise RuleViolation(f"promise currency must be the case currency {case.currency}")
    if data.account_number is not None:
        loan = await session.get(CaseLoan, data.account_number)
        if loan is None or loan.case_id != case.id:
            raise RuleViolation("account_number is not a loan of this customer")
    target = _TRIGGERS.get(data.action_type)
    if (
        data.action_type == ActionType.PROMISE_TO_PAY
        and target is not None
        and not (case.status == target.value or can_transition(CaseStatus(case.status), target))
    ):
        raise RuleViolation(f"a promise cannot be recorded on a {case.status} case")


async def _trigger(session: AsyncSession, case: CustomerCase, data: ActionInput, by: str) -> None:
    """Move the case on: the first contact starts work; promises and legal notices change status."""
    status = CaseStatus(case.status)
    target = _TRIGGERS.get(data.action_type)
    if target is None and status == CaseStatus.NEW and data.action_type in CONTACT_TYPES:
        target = CaseStatus.IN_PROGRESS
    if target is not None and can_transition(status, target):
        await change_status(session, case, target, by=by, reason=f"{data.action_type} recorded")


async def record_action(
    session: AsyncSession, actor: Actor, data: ActionInput, *, max_promise_days: int
) -> tuple[ActionRecord, PromiseToPay | None]:
    """``POST /api/actions``."""
    case = check_case(actor, await repo.case_by_cif(session, data.cif, lock=True))
    await _validate(session, case, data, max_promise_days)
    now = datetime.now(UTC)
    action = ActionRecord(
        id=uuid.uuid4(),
        case_id=case.id,
        cif=case.cif,
        account_number=data.account_number,
        agent_id=actor.agent_id or case.agent_id,
        action_type=data.action_type.value,
        result=data.result.value if data.result else None,
        notes=data.notes,
        reminder_level=case.reminder_level,
        created_by=actor.subject,
        created_at=now,
        result_at=now if data.result else None,
    )
    session.add(action)
    promise = None
    if data.promise is not None:
        promise = PromiseToPay(
            id=uuid.uuid4(),
            action_id=action.id,
            case_id=case.id,
            cif=case.cif,
            account_number=data.account_number,
            agent_id=action.agent_id,
            amount=data.promise.amount,
            currency=data.promise.currency,
            paid_amount=0,
            due_date=data.promise.due_date,
            status=PromiseStatus.PENDING.value,
            created_at=now,
        )
        session.add(promise)
    if data.action_type in CONTACT_TYPES:
        case.contact_count += 1
    case.last_action_at = now
    await session.flush()
    await _trigger(session, case, data, actor.subject)
    await add_event(session, events.action_recorded(action, case.institution_id, promise))
    return action, promise


async def set_result(
    session: AsyncSession, actor: Actor, action_id: uuid.UUID, result: ActionResult, notes: str | None
) -> ActionRecord:
    """``PUT /api/actions/:id/result``: set the outcome (history kept in action_result)."""
    action = await session.get(ActionRecord, action_id, with_for_update=True)
    if action is None:
        raise ActionNotFound("no such action")
    case = check_case(actor, await repo.case_by_cif(session, action.cif))
    action.result, action.result_at = result.value, datetime.now(UTC)
    session.add(
        ActionResultRow(
            id=uuid.uuid4(), action_id=action.id, result=result.value, notes=notes, recorded_by=actor.subject
        )
    )
    await session.flush()
    await add_event(session, events.action_recorded(action, case.institution_id, None))
    return action


async def customer_actions(session: AsyncSession, actor: Actor, cif: str) -> Sequence[ActionRecord]:
    """``GET /api/actions/customer/:cif``."""
    check_case(actor, await repo.case_by_cif(session, cif))
    return await repo.actions_where(session, ActionRecord.cif == cif)


async def loan_actions(session: AsyncSession, actor: Actor, account: str) -> Sequence[ActionRecord]:
    """``GET /api/actions/loan/:accountNumber``."""
    loan = await session.get(CaseLoan, account)
    check_case(actor, await repo.case_by_cif(session, loan.cif) if loan else None)
    return await repo.actions_where(session, ActionRecord.account_number == account)


async def promises_of(
    session: AsyncSession, action_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PromiseToPay]:
    """Promises attached to actions, by action id."""
    from sqlalchemy import select

    if not action_ids:
        return {}
    rows = (
        await session.execute(select(PromiseToPay).where(PromiseToPay.action_id.in_(list(action_ids))))
    ).scalars()
    return {p.action_id: p for p in rows}


def today() -> date:
    """Today in UTC."""
    return datetime.now(UTC).date()
