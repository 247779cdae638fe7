"""Request (XxxCreate / XxxUpdate) and response (XxxRead) models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from caisse_collection.domain.actions import ActionResult, ActionType
from caisse_collection.domain.cases import CaseStatus
from caisse_collection.domain.strategy import ReminderLevel

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(max_length=4000)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Email = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")]
Money = Annotated[int, Field(strict=True, gt=0, le=10**15, description="minor units")]
Bucket = Literal["CURRENT", "1-30", "31-60", "61-90", "90+"]
AgentStatus = Literal["ACTIVE", "INACTIVE", "ON_LEAVE"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TeamCreate(_In):
    """A new team."""

    name: Name
    region: Code | None = None
    buckets: list[Bucket] = Field(default_factory=list, max_length=5)
    institution_id: Code | None = None


class TeamRead(_Out):
    """A team."""

    id: uuid.UUID
    institution_id: str | None
    name: str
    region: str | None
    buckets: list[str]


class AgentCreate(_In):
    """A new agent (``user_id`` = the agent's auth subject)."""

    code: Code
    name: Name
    user_id: Code | None = None
    email: Email | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    team_id: uuid.UUID | None = None
    region: Code | None = None
    status: AgentStatus | None = None
    max_workload: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    institution_id: Code | None = None


class AgentUpdate(_In):
    """Agent fields to change (left out = unchanged)."""

    code: Code | None = None
    name: Name | None = None
    user_id: Code | None = None
    email: Email | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    team_id: uuid.UUID | None = None
    region: Code | None = None
    status: AgentStatus | None = None
    max_workload: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class AgentRead(_Out):
    """An agent."""

    id: uuid.UUID
    institution_id: str | None
    code: str
    name: str
    user_id: str | None
    email: str | None
    phone: str | None
    team_id: uuid.UUID | None
    region: str | None
    status: str
    max_workload: int | None


class PerformanceRead(BaseModel):
    """PerformanceMetrics of §3.3 (amounts in minor units per currency)."""

    period_from: date
    period_to: date
    contacts: int
    promises: int
    promises_kept: int
    promises_broken: int
    kept_rate: float | None
    collected: dict[str, int]
    cases_resolved: int


class WorkloadRead(BaseModel):
    """WorkloadStats: the agent's current book."""

    agent_id: uuid.UUID
    customers: int
    outstanding_amount: int
    by_status: dict[str, int]


class ActionCreate(_In):
    """ActionRecord to record; promise fields only for PROMISE_TO_PAY."""

    cif: Code
    action_type: ActionType
    account_number: Code | None = None
    result: ActionResult | None = None
    notes: Note | None = None
    promise_amount: Money | None = None
    promise_currency: Currency | None = None
    promise_date: date | None = None


class ActionResultUpdate(_In):
    """``{ result: ActionResultType }``."""

    result: ActionResult
    notes: Note | None = None


class ActionRead(_Out):
    """An ActionRecord."""

    id: uuid.UUID
    case_id: uuid.UUID
    cif: str
    account_number: str | None
    agent_id: uuid.UUID | None
    action_type: str
    result: str | None
    notes: str | None
    reminder_level: str | None
    created_by: str
    created_at: datetime
    result_at: datetime | None
    promise_id: uuid.UUID | None = None
    promise_amount: int | None = None
    promise_currency: str | None = None
    promise_date: date | None = None
    promise_status: str | None = None


class AssignmentCreate(_In):
    """CustomerAgent to create."""

    cif: Code
    agent_id: uuid.UUID
    reason: Note | None = None


class AssignmentUpdate(_In):
    """Move an assignment to another agent."""

    agent_id: uuid.UUID
    reason: Note | None = None


class AssignmentBulkCreate(_In):
    """Many customers to one agent, or balanced automatically when ``agent_id`` is left out."""

    cifs: Annotated[list[Code], Field(min_length=1, max_length=1000)]
    agent_id: uuid.UUID | None = None
    reason: Note | None = None


class AutoAssignCreate(_In):
    """Automatic assignment of every open unassigned case (optionally within one team)."""

    team_id: uuid.UUID | None = None


class AutoAssignRead(BaseModel):
    """How many customers were assigned."""

    assigned: int


class AssignmentRead(_Out):
    """A CustomerAgent row (active or history)."""

    id: uuid.UUID
    cif: str
    case_id: uuid.UUID
    agent_id: uuid.UUID
    method: str
    reason: str | None
    assigned_by: str
    active: bool
    assigned_at: datetime
    ended_at: datetime | None


class CaseActionCreate(_In):
    """CustomerCaseAction: a status change through the state machine, or a note."""

    cif: Code
    action: Literal["STATUS_CHANGE", "NOTE"]
    to_status: CaseStatus | None = None
    note: Note | None = None


class CaseActionRead(_Out):
    """A CustomerCaseAction (case history entry)."""

    id: uuid.UUID
    case_id: uuid.UUID
    cif: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None
    actor: str
    created_at: datetime


class LoanRead(_Out):
    """A loan of the case."""

    account_number: str
    currency: str
    days_past_due: int
    bucket: str
    overdue_amount: int
    outstanding_amount: int


class CaseRead(_Out):
    """A customer's case."""

    id: uuid.UUID
    cif: str
    institution_id: str | None
    status: str
    currency: str
    days_past_due: int
    bucket: str
    overdue_amount: int
    outstanding_amount: int
    priority: int
    next_action: str | None
    reminder_level: str | None
    agent_id: uuid.UUID | None
    contact_count: int
    broken_promises: int
    opened_at: datetime
    updated_at: datetime
    loans: list[LoanRead] = Field(default_factory=list)


class StrategyRuleCreate(_In):
    """A strategy rule: bounds (inclusive) -> priority, next action, reminder level."""

    name: Name
    priority: Annotated[int, Field(ge=0, le=100)]
    next_action: ActionType
    reminder_level: ReminderLevel
    rank: Annotated[int, Field(ge=0, le=10_000)] = 100
    min_dpd: Annotated[int, Field(ge=0)] | None = None
    max_dpd: Annotated[int, Field(ge=0)] | None = None
    min_outstanding: Annotated[int, Field(ge=0, strict=True)] | None = None
    max_outstanding: Annotated[int, Field(ge=0, strict=True)] | None = None
    min_broken_promises: Annotated[int, Field(ge=0)] | None = None


class StrategyRuleRead(_Out):
    """A stored strategy rule."""

    id: uuid.UUID
    name: str
    rank: int
    priority: int
    next_action: str
    reminder_level: str
    min_dpd: int | None
    max_dpd: int | None
    min_outstanding: int | None
    max_outstanding: int | None
    min_broken_promises: int | None


class TaskRead(_Out):
    """A daily task-list entry."""

    id: uuid.UUID
    task_date: date
    agent_id: uuid.UUID
    case_id: uuid.UUID
    cif: str
    priority: int
    action_type: str
    reminder_level: str
    status: str


class JobsRunRead(BaseModel):
    """Result of a run of the scheduled jobs."""

    broken_promises: int
    tasks_created: int
