"""``/api/agents`` and ``/api/teams``: profiles, teams, workload and performance."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from caisse_collection.api.deps import AgentsReader, AgentsWriter, PerformanceReader, SessionDep
from caisse_collection.api.schemas import (
    AgentCreate,
    AgentRead,
    AgentStatus,
    AgentUpdate,
    PerformanceRead,
    TeamCreate,
    TeamRead,
    WorkloadRead,
)
from caisse_collection.services import agents as svc
from caisse_collection.services import assignments, performance

router = APIRouter(prefix="/api", tags=["agents"])


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    """Default period: the last 30 days up to today."""
    end = end or datetime.now(UTC).date()
    return start or end - timedelta(days=30), end


@router.get("/agents", response_model=list[AgentRead], summary="List agents")
async def list_agents(
    session: SessionDep, actor: AgentsReader, team: uuid.UUID | None = None, status: AgentStatus | None = None
) -> list[AgentRead]:
    """Agents of the caller's institution, by team and status."""
    rows = await svc.list_agents(session, actor, team, status)
    return [AgentRead.model_validate(a) for a in rows]


@router.post("/agents", response_model=AgentRead, status_code=201, summary="Create agent")
async def create_agent(body: AgentCreate, session: SessionDep, actor: AgentsWriter) -> AgentRead:
    """Create an agent profile."""
    agent = await svc.create_agent(session, actor, svc.AgentInput(**body.model_dump()))
    return AgentRead.model_validate(agent)


@router.put("/agents/{agent_id}", response_model=AgentRead, summary="Update agent")
async def update_agent(
    agent_id: uuid.UUID, body: AgentUpdate, session: SessionDep, actor: AgentsWriter
) -> AgentRead:
    """Change an agent's profile, team, status or capacity."""
    agent = await svc.update_agent(session, actor, agent_id, svc.AgentInput(**body.model_dump()))
    return AgentRead.model_validate(agent)


@router.get(
    "/agents/{agent_id}/performance", response_model=PerformanceRead, summary="Agent performance for a period"
)
async def agent_performance(
    agent_id: uuid.UUID,
    session: SessionDep,
    actor: PerformanceReader,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> PerformanceRead:
    """Contacts, promises, kept rate, amount collected and cases resolved."""
    lo, hi = _period(start, end)
    m = await performance.agent_performance(session, actor, agent_id, lo, hi)
    return PerformanceRead.model_validate(m, from_attributes=True)


@router.get("/agents/{agent_id}/workload", response_model=WorkloadRead, summary="Agent workload")
async def agent_workload(agent_id: uuid.UUID, session: SessionDep, actor: AgentsReader) -> WorkloadRead:
    """Customers and outstanding amount currently assigned to the agent."""
    w = await assignments.workload(session, actor, agent_id)
    return WorkloadRead.model_validate(w, from_attributes=True)


@router.get("/teams", response_model=list[TeamRead], tags=["teams"], summary="List teams")
async def list_teams(session: SessionDep, actor: AgentsReader) -> list[TeamRead]:
    """Teams of the caller's institution."""
    return [TeamRead.model_validate(t) for t in await svc.list_teams(session, actor)]


@router.post("/teams", response_model=TeamRead, status_code=201, tags=["teams"], summary="Create team")
async def create_team(body: TeamCreate, session: SessionDep, actor: AgentsWriter) -> TeamRead:
    """Create a team with its region and buckets."""
    team = await svc.create_team(session, actor, body.name, body.region, body.buckets, body.institution_id)
    return TeamRead.model_validate(team)


@router.get(
    "/teams/{team_id}/performance",
    response_model=PerformanceRead,
    tags=["teams"],
    summary="Team performance for a period",
)
async def team_performance(
    team_id: uuid.UUID,
    session: SessionDep,
    actor: PerformanceReader,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> PerformanceRead:
    """The team's figures (managers only)."""
    lo, hi = _period(start, end)
    m = await performance.team_performance(session, actor, team_id, lo, hi)
    return PerformanceRead.model_validate(m, from_attributes=True)
