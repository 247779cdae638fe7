"""``/api/actions``: record actions (and promises to pay), set results, list by customer/loan."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.api.deps import ActionsReader, ActionsWriter, SessionDep, SettingsDep
from caisse_collection.api.schemas import ActionCreate, ActionRead, ActionResultUpdate
from caisse_collection.db.models import ActionRecord, PromiseToPay
from caisse_collection.domain.actions import PromiseTerms
from caisse_collection.errors import RuleViolation
from caisse_collection.services import actions as svc

router = APIRouter(prefix="/api/actions", tags=["actions"])


def _read(action: ActionRecord, promise: PromiseToPay | None) -> ActionRead:
    out = ActionRead.model_validate(action)
    if promise is not None:
        out.promise_id, out.promise_amount = promise.id, promise.amount
        out.promise_currency, out.promise_date = promise.currency, promise.due_date
        out.promise_status = promise.status
    return out


async def _with_promises(session: AsyncSession, rows: Sequence[ActionRecord]) -> list[ActionRead]:
    promises = await svc.promises_of(session, [a.id for a in rows])
    return [_read(a, promises.get(a.id)) for a in rows]


def _terms(body: ActionCreate) -> PromiseTerms | None:
    given = [body.promise_amount, body.promise_currency, body.promise_date]
    if all(v is None for v in given):
        return None
    if any(v is None for v in given):
        raise RuleViolation("promise_amount, promise_currency and promise_date go together")
    amount, currency, due = body.promise_amount, body.promise_currency, body.promise_date
    if amount is None or currency is None or due is None:
        raise RuleViolation("promise_amount, promise_currency and promise_date go together")
    return PromiseTerms(amount, currency, due)


@router.get("/customer/{cif}", response_model=list[ActionRead], summary="Get customer actions")
async def customer_actions(cif: str, session: SessionDep, actor: ActionsReader) -> list[ActionRead]:
    """Actions on a customer, newest first."""
    return await _with_promises(session, await svc.customer_actions(session, actor, cif))


@router.get("/loan/{account_number}", response_model=list[ActionRead], summary="Get loan actions")
async def loan_actions(account_number: str, session: SessionDep, actor: ActionsReader) -> list[ActionRead]:
    """Actions on a loan, newest first."""
    return await _with_promises(session, await svc.loan_actions(session, actor, account_number))


@router.post("", response_model=ActionRead, status_code=201, summary="Record new action")
async def record_action(
    body: ActionCreate, session: SessionDep, actor: ActionsWriter, settings: SettingsDep
) -> ActionRead:
    """Record an action; a PROMISE_TO_PAY also records the promise and moves the case to PROMISE."""
    data = svc.ActionInput(
        cif=body.cif,
        action_type=body.action_type,
        account_number=body.account_number,
        result=body.result,
        notes=body.notes,
        promise=_terms(body),
    )
    action, promise = await svc.record_action(
        session, actor, data, max_promise_days=settings.max_promise_days
    )
    return _read(action, promise)


@router.put("/{action_id}/result", response_model=ActionRead, summary="Update action result")
async def update_result(
    action_id: uuid.UUID, body: ActionResultUpdate, session: SessionDep, actor: ActionsWriter
) -> ActionRead:
    """Set the outcome of an action."""
    action = await svc.set_result(session, actor, action_id, body.result, body.notes)
    return (await _with_promises(session, [action]))[0]
