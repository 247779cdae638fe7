"""``/api/cases``, ``/api/strategies`` and ``/api/tasks``."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from fastapi import APIRouter

from caisse_collection.api.deps import (
    CasesReader,
    CasesWriter,
    SessionDep,
    StrategiesWriter,
)
from caisse_collection.api.schemas import (
    CaseActionCreate,
    CaseActionRead,
    CaseRead,
    JobsRunRead,
    LoanRead,
    StrategyRuleCreate,
    StrategyRuleRead,
    TaskRead,
)
from caisse_collection.db.models import Agent
from caisse_collection.services import cases as svc
from caisse_collection.services import jobs, strategies
from caisse_collection.services.scope import check_agent

router = APIRouter(prefix="/api", tags=["cases"])


@router.get("/cases/customer/{cif}", response_model=list[CaseActionRead], summary="Get customer case history")
async def case_history(cif: str, session: SessionDep, actor: CasesReader) -> list[CaseActionRead]:
    """The case's actions and status changes, oldest first."""
    return [CaseActionRead.model_validate(r) for r in await svc.history(session, actor, cif)]


@router.get("/cases/customer/{cif}/summary", response_model=CaseRead, summary="Get customer case")
async def case_summary(cif: str, session: SessionDep, actor: CasesReader) -> CaseRead:
    """The case: status, figures, strategy output, agent and loans."""
    case, loans = await svc.get_case(session, actor, cif)
    out = CaseRead.model_validate(case)
    out.loans = [LoanRead.model_validate(ln) for ln in loans]
    return out


@router.post("/cases", response_model=CaseActionRead, status_code=201, summary="Record case action")
async def record_case_action(
    body: CaseActionCreate, session: SessionDep, actor: CasesWriter
) -> CaseActionRead:
    """A status change (409 if the state machine refuses it) or a note on the case."""
    row = await svc.record_case_action(session, actor, body.cif, body.action, body.to_status, body.note)
    return CaseActionRead.model_validate(row)


@router.get(
    "/strategies", response_model=list[StrategyRuleRead], tags=["strategies"], summary="List strategy rules"
)
async def list_rules(session: SessionDep, actor: CasesReader) -> list[StrategyRuleRead]:
    """The institution's rules in evaluation order (none = the default rules)."""
    return [StrategyRuleRead.model_validate(r) for r in await strategies.list_rules(session, actor)]


@router.post(
    "/strategies",
    response_model=StrategyRuleRead,
    status_code=201,
    tags=["strategies"],
    summary="Create strategy rule",
)
async def create_rule(
    body: StrategyRuleCreate, session: SessionDep, actor: StrategiesWriter
) -> StrategyRuleRead:
    """Add a rule: bounds on days past due, outstanding and broken promises."""
    row = await strategies.create_rule(session, actor, strategies.RuleInput(**body.model_dump()))
    return StrategyRuleRead.model_validate(row)


@router.get(
    "/tasks/agent/{agent_id}",
    response_model=list[TaskRead],
    tags=["tasks"],
    summary="Agent's daily task list",
)
async def agent_tasks(
    agent_id: uuid.UUID, session: SessionDep, actor: CasesReader, day: date | None = None
) -> list[TaskRead]:
    """The agent's tasks for a day (default today), highest priority first."""
    agent = check_agent(actor, await session.get(Agent, agent_id))
    rows = await jobs.tasks_of(session, agent.id, day or datetime.now(UTC).date())
    return [TaskRead.model_validate(t) for t in rows]


@router.post("/jobs/run", response_model=JobsRunRead, tags=["tasks"], summary="Run the scheduled jobs now")
async def run_jobs(session: SessionDep, actor: StrategiesWriter) -> JobsRunRead:
    """Broken-promise detection and today's task list (normally run by the scheduler)."""
    return JobsRunRead(**await jobs.run_all(session, datetime.now(UTC).date()))
