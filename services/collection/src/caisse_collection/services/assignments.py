"""Customer assignment: manual, bulk and automatic (balanced), with history kept on reassignment."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from caisse_shared.messaging.outbox import add_event
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.db import repositories as repo
from caisse_collection.db.models import Agent, CustomerAgent, CustomerCase, Team
from caisse_collection.domain.assignment import AgentLoad, Balancer, CaseToAssign
from caisse_collection.errors import AgentNotFound, AssignmentNotFound, RuleViolation
from caisse_collection.services import events
from caisse_collection.services.scope import Actor, check_agent, check_case

MANUAL, BULK, AUTO = "MANUAL", "BULK", "AUTO"


@dataclass(frozen=True, slots=True)
class Workload:
    """An agent's current book: customers and outstanding amount, by case status."""

    agent_id: uuid.UUID
    customers: int
    outstanding_amount: int
    by_status: dict[str, int]


async def assign(
    session: AsyncSession, case: CustomerCase, agent: Agent, *, method: str, by: str, reason: str | None
) -> CustomerAgent:
    """Give a case to an agent: ends the current assignment (history), publishes the event."""
    if agent.status != "ACTIVE":
        raise RuleViolation("agent is not active")
    if agent.institution_id != case.institution_id:
        raise RuleViolation("agent and customer belong to different institutions")
    current = await repo.active_assignment(session, case.cif)
    if current is not None and current.agent_id == agent.id:
        return current  # already theirs: nothing changes, nothing is published
    previous = current.agent_id if current else None
    if current is not None:
        await repo.end_assignment(session, current)
    row = CustomerAgent(
        id=uuid.uuid4(),
        cif=case.cif,
        case_id=case.id,
        agent_id=agent.id,
        institution_id=case.institution_id,
        method=method,
        reason=reason,
        assigned_by=by,
        active=True,
    )
    session.add(row)
    case.agent_id = agent.id
    await session.flush()
    await add_event(session, events.customer_assigned(row, previous, agent.team_id))
    return row


async def _agent_in_scope(session: AsyncSession, actor: Actor, agent_id: uuid.UUID) -> Agent:
    agent = await session.get(Agent, agent_id)
    return check_agent(actor, agent, self_only=False)


async def manual_assign(
    session: AsyncSession, actor: Actor, cif: str, agent_id: uuid.UUID, reason: str | None
) -> CustomerAgent:
    """``POST /api/assignments``: assign (or reassign) a customer to a chosen agent."""
    case = check_case(actor, await repo.case_by_cif(session, cif, lock=True))
    agent = await _agent_in_scope(session, actor, agent_id)
    return await assign(session, case, agent, method=MANUAL, by=actor.subject, reason=reason)


async def reassign(
    session: AsyncSession, actor: Actor, assignment_id: uuid.UUID, agent_id: uuid.UUID, reason: str | None
) -> CustomerAgent:
    """``PUT /api/assignments/:id``: move an active assignment to another agent."""
    current = await session.get(CustomerAgent, assignment_id)
    if current is None or not actor.principal.can_see_institution(current.institution_id):
        raise AssignmentNotFound("no such assignment")
    if not current.active:
        raise RuleViolation("assignment has ended; update the customer's current assignment")
    return await manual_assign(session, actor, current.cif, agent_id, reason)


async def bulk_assign(
    session: AsyncSession, actor: Actor, cifs: Sequence[str], agent_id: uuid.UUID | None, reason: str | None
) -> list[CustomerAgent]:
    """Assign many customers: all to one agent, or balanced automatically when no agent is given."""
    cases = [check_case(actor, await repo.case_by_cif(session, c, lock=True)) for c in cifs]
    if agent_id is None:
        return await balance(session, cases, actor.institution_id, by=actor.subject, method=BULK)
    agent = await _agent_in_scope(session, actor, agent_id)
    return [await assign(session, c, agent, method=BULK, by=actor.subject, reason=reason) for c in cases]


async def agent_loads(
    session: AsyncSession, institution_id: str | None, team_id: uuid.UUID | None = None
) -> dict[uuid.UUID, AgentLoad]:
    """Active agents of an institution with their current load and team/region rules."""
    book = (
        select(
            CustomerAgent.agent_id,
            func.count().label("n"),
            func.coalesce(func.sum(CustomerCase.outstanding_amount), 0).label("amt"),
        )
        .join(CustomerCase, CustomerCase.id == CustomerAgent.case_id)
        .where(CustomerAgent.active.is_(True))
        .group_by(CustomerAgent.agent_id)
        .subquery()
    )
    stmt = (
        select(Agent, Team.buckets, Team.region, book.c.n, book.c.amt)
        .outerjoin(Team, Team.id == Agent.team_id)
        .outerjoin(book, book.c.agent_id == Agent.id)
        .where(Agent.status == "ACTIVE", Agent.institution_id.is_not_distinct_from(institution_id))
    )
    if team_id is not None:
        stmt = stmt.where(Agent.team_id == team_id)
    loads: dict[uuid.UUID, AgentLoad] = {}
    for agent, buckets, team_region, n, amt in (await session.execute(stmt)).all():
        loads[agent.id] = AgentLoad(
            str(agent.id),
            count=int(n or 0),
            amount=int(amt or 0),
            capacity=agent.max_workload,
            buckets=frozenset(buckets or ()),
            region=agent.region or team_region,
        )
    return loads


async def balance(
    session: AsyncSession,
    cases: Sequence[CustomerCase],
    institution_id: str | None,
    *,
    by: str,
    method: str = AUTO,
    team_id: uuid.UUID | None = None,
) -> list[CustomerAgent]:
    """Place cases with the balancer (keeping previous agents where possible) and assign them."""
    loads = await agent_loads(session, institution_id, team_id)
    if not loads:
        raise RuleViolation("no active agent can take these customers")
    todo = [
        CaseToAssign(
            str(c.id),
            c.outstanding_amount,
            c.bucket,
            c.region,
            str(prev) if (prev := await repo.last_agent_of(session, c.cif)) else None,
        )
        for c in cases
    ]
    placed = Balancer(loads.values()).assign_all(todo)
    agents = {
        a.id: a for a in (await session.execute(select(Agent).where(Agent.id.in_(list(loads))))).scalars()
    }
    out: list[CustomerAgent] = []
    for case in cases:
        agent_id = placed.get(str(case.id))
        if agent_id is not None:
            out.append(
                await assign(
                    session,
                    case,
                    agents[uuid.UUID(agent_id)],
                    method=method,
                    by=by,
                    reason="automatic assignment",
                )
            )
    return out


async def auto_assign_case(session: AsyncSession, case: CustomerCase, *, by: str) -> None:
    """Assign one newly delinquent case automatically, if any agent can take it."""
    if case.agent_id is not None:
        return
    try:
        await balance(session, [case], case.institution_id, by=by)
    except RuleViolation:
        return  # no agent configured yet: the case waits for a manual or bulk assignment


async def agent_assignments(
    session: AsyncSession, actor: Actor, agent_id: uuid.UUID, include_ended: bool
) -> Sequence[CustomerAgent]:
    """``GET /api/assignments/agent/:agentId``."""
    agent = check_agent(actor, await session.get(Agent, agent_id))
    conds = [CustomerAgent.agent_id == agent.id]
    if not include_ended:
        conds.append(CustomerAgent.active.is_(True))
    return await repo.assignments_where(session, *conds)


async def customer_history(session: AsyncSession, actor: Actor, cif: str) -> Sequence[CustomerAgent]:
    """Assignment history of a customer, newest first."""
    check_case(actor, await repo.case_by_cif(session, cif))
    return await repo.assignments_where(session, CustomerAgent.cif == cif)


async def workload(session: AsyncSession, actor: Actor, agent_id: uuid.UUID) -> Workload:
    """An agent's current workload."""
    agent = check_agent(actor, await session.get(Agent, agent_id))
    rows = (
        await session.execute(
            select(
                CustomerCase.status, func.count(), func.coalesce(func.sum(CustomerCase.outstanding_amount), 0)
            )
            .join(CustomerAgent, CustomerAgent.case_id == CustomerCase.id)
            .where(CustomerAgent.agent_id == agent.id, CustomerAgent.active.is_(True))
            .group_by(CustomerCase.status)
        )
    ).all()
    if not agent:
        raise AgentNotFound("no such agent")
    return Workload(
        agent.id, sum(r[1] for r in rows), sum(int(r[2]) for r in rows), {r[0]: r[1] for r in rows}
    )
