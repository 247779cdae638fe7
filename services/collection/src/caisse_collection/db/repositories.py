"""Queries of the collection schema: add + flush, never commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.db.models import (
    ActionRecord,
    Agent,
    CaseLoan,
    CustomerAgent,
    CustomerCase,
    CustomerCaseAction,
    PromiseToPay,
    StrategyRule,
    Team,
)


async def agent_by_user(session: AsyncSession, user_id: str, institution_id: str | None) -> Agent | None:
    """The agent profile of an auth subject in an institution."""
    stmt = select(Agent).where(Agent.user_id == user_id)
    if institution_id is not None:
        stmt = stmt.where(Agent.institution_id == institution_id)
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


async def list_agents(
    session: AsyncSession, institution_id: str | None, team_id: uuid.UUID | None, status: str | None
) -> Sequence[Agent]:
    """Agents of an institution (None = all), optionally filtered by team and status."""
    stmt = select(Agent).order_by(Agent.code)
    if institution_id is not None:
        stmt = stmt.where(Agent.institution_id == institution_id)
    if team_id is not None:
        stmt = stmt.where(Agent.team_id == team_id)
    if status is not None:
        stmt = stmt.where(Agent.status == status)
    return (await session.execute(stmt)).scalars().all()


async def list_teams(session: AsyncSession, institution_id: str | None) -> Sequence[Team]:
    """Teams of an institution (None = all)."""
    stmt = select(Team).order_by(Team.name)
    if institution_id is not None:
        stmt = stmt.where(Team.institution_id == institution_id)
    return (await session.execute(stmt)).scalars().all()


async def case_by_cif(session: AsyncSession, cif: str, *, lock: bool = False) -> CustomerCase | None:
    """The customer's case (optionally locked FOR UPDATE: events and requests serialize on it)."""
    stmt = select(CustomerCase).where(CustomerCase.cif == cif)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def case_by_account(session: AsyncSession, account_number: str) -> CustomerCase | None:
    """The case holding a loan account."""
    stmt = (
        select(CustomerCase)
        .join(CaseLoan, CaseLoan.case_id == CustomerCase.id)
        .where(CaseLoan.account_number == account_number)
        .with_for_update(of=CustomerCase)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def loans_of_case(session: AsyncSession, case_id: uuid.UUID) -> Sequence[CaseLoan]:
    """Loans of a case."""
    stmt = select(CaseLoan).where(CaseLoan.case_id == case_id).order_by(CaseLoan.account_number)
    return (await session.execute(stmt)).scalars().all()


async def case_history(session: AsyncSession, case_id: uuid.UUID) -> Sequence[CustomerCaseAction]:
    """Case actions, oldest first."""
    stmt = (
        select(CustomerCaseAction)
        .where(CustomerCaseAction.case_id == case_id)
        .order_by(CustomerCaseAction.created_at, CustomerCaseAction.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def actions_where(session: AsyncSession, *conds: object) -> Sequence[ActionRecord]:
    """Actions matching conditions, newest first."""
    stmt = select(ActionRecord).where(*conds).order_by(ActionRecord.created_at.desc())  # type: ignore[arg-type]
    return (await session.execute(stmt)).scalars().all()


async def active_assignment(session: AsyncSession, cif: str) -> CustomerAgent | None:
    """The customer's current assignment."""
    stmt = select(CustomerAgent).where(CustomerAgent.cif == cif, CustomerAgent.active.is_(True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def last_agent_of(session: AsyncSession, cif: str) -> uuid.UUID | None:
    """The agent the customer had most recently (to keep them together where possible)."""
    stmt = (
        select(CustomerAgent.agent_id)
        .where(CustomerAgent.cif == cif)
        .order_by(CustomerAgent.assigned_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def assignments_where(session: AsyncSession, *conds: object) -> Sequence[CustomerAgent]:
    """Assignments matching conditions, newest first."""
    stmt = select(CustomerAgent).where(*conds).order_by(CustomerAgent.assigned_at.desc())  # type: ignore[arg-type]
    return (await session.execute(stmt)).scalars().all()


async def end_assignment(session: AsyncSession, assignment: CustomerAgent) -> None:
    """Close an active assignment (kept as history)."""
    assignment.active = False
    assignment.ended_at = func.now()
    await session.flush()


async def pending_promises(session: AsyncSession, case_id: uuid.UUID) -> Sequence[PromiseToPay]:
    """Pending promises of a case, earliest due first, locked."""
    stmt = (
        select(PromiseToPay)
        .where(PromiseToPay.case_id == case_id, PromiseToPay.status == "PENDING")
        .order_by(PromiseToPay.due_date, PromiseToPay.created_at)
        .with_for_update()
    )
    return (await session.execute(stmt)).scalars().all()


async def strategy_rules(session: AsyncSession, institution_id: str | None) -> Sequence[StrategyRule]:
    """Active rules of an institution."""
    stmt = select(StrategyRule).where(
        StrategyRule.active.is_(True), StrategyRule.institution_id.is_not_distinct_from(institution_id)
    )
    return (await session.execute(stmt.order_by(StrategyRule.rank))).scalars().all()


async def set_case_agent(session: AsyncSession, case_id: uuid.UUID, agent_id: uuid.UUID | None) -> None:
    """Denormalised current agent of a case."""
    await session.execute(update(CustomerCase).where(CustomerCase.id == case_id).values(agent_id=agent_id))
