"""Agent and team management (institution-scoped)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.db import repositories as repo
from caisse_collection.db.models import Agent, Team
from caisse_collection.domain.buckets import BUCKETS
from caisse_collection.errors import DuplicateResource, RuleViolation, TeamNotFound
from caisse_collection.services.scope import Actor, check_agent

AGENT_STATUSES = ("ACTIVE", "INACTIVE", "ON_LEAVE")


@dataclass(frozen=True, slots=True)
class AgentInput:
    """Fields of an agent profile (None on update = unchanged)."""

    code: str | None = None
    name: str | None = None
    user_id: str | None = None
    email: str | None = None
    phone: str | None = None
    team_id: uuid.UUID | None = None
    region: str | None = None
    status: str | None = None
    max_workload: int | None = None
    institution_id: str | None = None


def _institution(actor: Actor, requested: str | None) -> str | None:
    """Scoped principals write in their own institution; platform principals choose one."""
    if actor.institution_id is not None:
        if requested not in (None, actor.institution_id):
            raise RuleViolation("you can only manage your own institution")
        return actor.institution_id
    return requested


async def _team(
    session: AsyncSession, actor: Actor, team_id: uuid.UUID | None, institution_id: str | None
) -> None:
    if team_id is None:
        return
    team = await session.get(Team, team_id)
    if (
        team is None
        or not actor.principal.can_see_institution(team.institution_id)
        or team.institution_id != institution_id
    ):
        raise TeamNotFound("no such team in this institution")


async def _unique(session: AsyncSession, agent: Agent) -> None:
    clash = (
        await session.execute(
            select(Agent.id).where(
                Agent.id != agent.id,
                Agent.institution_id.is_not_distinct_from(agent.institution_id),
                (Agent.code == agent.code) | ((Agent.user_id == agent.user_id) & Agent.user_id.is_not(None)),
            )
        )
    ).first()
    if clash is not None:
        raise DuplicateResource("an agent with this code or user already exists")


async def create_agent(session: AsyncSession, actor: Actor, data: AgentInput) -> Agent:
    """``POST /api/agents``."""
    inst = _institution(actor, data.institution_id)
    await _team(session, actor, data.team_id, inst)
    fields: dict[str, Any] = {
        f: getattr(data, f) for f in AgentInput.__dataclass_fields__ if f != "institution_id"
    }
    fields["status"] = data.status or "ACTIVE"
    agent = Agent(id=uuid.uuid4(), institution_id=inst, **fields)
    await _unique(session, agent)
    session.add(agent)
    await session.flush()
    return agent


async def update_agent(session: AsyncSession, actor: Actor, agent_id: uuid.UUID, data: AgentInput) -> Agent:
    """``PUT /api/agents/:id`` (fields left out stay as they are)."""
    agent = check_agent(actor, await session.get(Agent, agent_id, with_for_update=True), self_only=False)
    await _team(session, actor, data.team_id, agent.institution_id)
    for f in AgentInput.__dataclass_fields__:
        value = getattr(data, f)
        if value is not None and f != "institution_id":
            setattr(agent, f, value)
    agent.updated_at = datetime.now(UTC)
    await _unique(session, agent)
    await session.flush()
    return agent


async def list_agents(
    session: AsyncSession, actor: Actor, team_id: uuid.UUID | None, status: str | None
) -> Sequence[Agent]:
    """``GET /api/agents``."""
    return await repo.list_agents(session, actor.institution_id, team_id, status)


async def create_team(
    session: AsyncSession,
    actor: Actor,
    name: str,
    region: str | None,
    buckets: Sequence[str],
    institution_id: str | None,
) -> Team:
    """Create a team with its region and the buckets it works."""
    unknown = set(buckets) - set(BUCKETS)
    if unknown:
        raise RuleViolation(f"unknown buckets {sorted(unknown)}; use {list(BUCKETS)}")
    inst = _institution(actor, institution_id)
    exists = (
        await session.execute(
            select(Team.id).where(Team.institution_id.is_not_distinct_from(inst), Team.name == name)
        )
    ).first()
    if exists:
        raise DuplicateResource("a team with this name already exists")
    team = Team(id=uuid.uuid4(), institution_id=inst, name=name, region=region, buckets=list(buckets))
    session.add(team)
    await session.flush()
    return team


async def list_teams(session: AsyncSession, actor: Actor) -> Sequence[Team]:
    """Teams of the caller's institution."""
    return await repo.list_teams(session, actor.institution_id)
