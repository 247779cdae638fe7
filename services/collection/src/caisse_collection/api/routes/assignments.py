"""``/api/assignments``: manual, bulk and automatic assignment, per-agent lists, history."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from caisse_collection.api.deps import AssignmentsReader, AssignmentsWriter, SessionDep
from caisse_collection.api.schemas import (
    AssignmentBulkCreate,
    AssignmentCreate,
    AssignmentRead,
    AssignmentUpdate,
    AutoAssignCreate,
    AutoAssignRead,
)
from caisse_collection.services import assignments as svc
from caisse_collection.services.auto_assign import auto_assign_open_cases

router = APIRouter(prefix="/api/assignments", tags=["assignments"])


@router.get("/agent/{agent_id}", response_model=list[AssignmentRead], summary="Get agent assignments")
async def agent_assignments(
    agent_id: uuid.UUID, session: SessionDep, actor: AssignmentsReader, include_ended: bool = False
) -> list[AssignmentRead]:
    """The agent's current customers (and past ones with ``include_ended``)."""
    rows = await svc.agent_assignments(session, actor, agent_id, include_ended)
    return [AssignmentRead.model_validate(r) for r in rows]


@router.get(
    "/customer/{cif}", response_model=list[AssignmentRead], summary="Assignment history of a customer"
)
async def customer_history(cif: str, session: SessionDep, actor: AssignmentsReader) -> list[AssignmentRead]:
    """Every assignment of the customer, newest first."""
    return [AssignmentRead.model_validate(r) for r in await svc.customer_history(session, actor, cif)]


@router.post("", response_model=AssignmentRead, status_code=201, summary="Create assignment")
async def create_assignment(
    body: AssignmentCreate, session: SessionDep, actor: AssignmentsWriter
) -> AssignmentRead:
    """Assign (or reassign) a customer to an agent; the previous assignment becomes history."""
    row = await svc.manual_assign(session, actor, body.cif, body.agent_id, body.reason)
    return AssignmentRead.model_validate(row)


@router.put("/{assignment_id}", response_model=AssignmentRead, summary="Update assignment")
async def update_assignment(
    assignment_id: uuid.UUID, body: AssignmentUpdate, session: SessionDep, actor: AssignmentsWriter
) -> AssignmentRead:
    """Move an active assignment to another agent."""
    row = await svc.reassign(session, actor, assignment_id, body.agent_id, body.reason)
    return AssignmentRead.model_validate(row)


@router.post("/bulk", response_model=list[AssignmentRead], status_code=201, summary="Bulk assignment")
async def bulk_assign(
    body: AssignmentBulkCreate, session: SessionDep, actor: AssignmentsWriter
) -> list[AssignmentRead]:
    """Many customers to one agent, or balanced across agents when no agent is given."""
    rows = await svc.bulk_assign(session, actor, body.cifs, body.agent_id, body.reason)
    return [AssignmentRead.model_validate(r) for r in rows]


@router.post("/auto", response_model=AutoAssignRead, summary="Automatic assignment")
async def auto_assign(
    body: AutoAssignCreate, session: SessionDep, actor: AssignmentsWriter
) -> AutoAssignRead:
    """Balance every open unassigned case of the institution across its active agents."""
    n = await auto_assign_open_cases(session, actor.institution_id, by=actor.subject, team_id=body.team_id)
    return AutoAssignRead(assigned=n)
