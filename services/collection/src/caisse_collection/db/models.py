"""Tables of the ``collection`` schema (agents, teams, cases, actions, assignments, promises...)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from caisse_shared.db import make_metadata
from caisse_shared.messaging.tables import messaging_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from caisse_collection.config import SCHEMA


class Base(DeclarativeBase):
    """Declarative base bound to the collection schema."""

    metadata = make_metadata(SCHEMA)


messaging_tables(Base.metadata)


def _pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Team(Base):
    """A team of agents with its region and the days-past-due buckets it handles."""

    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("institution_id", "name"),)
    id: Mapped[uuid.UUID] = _pk()
    institution_id: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(64))
    buckets: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list, nullable=False)
    created_at: Mapped[datetime] = _now()


class Agent(Base):
    """A collection agent (``user_id`` is the auth subject of the agent's token)."""

    __tablename__ = "agent"
    __table_args__ = (
        UniqueConstraint("institution_id", "code"),
        UniqueConstraint("institution_id", "user_id"),
    )
    id: Mapped[uuid.UUID] = _pk()
    institution_id: Mapped[str | None] = mapped_column(String(64), index=True)
    user_id: Mapped[str | None] = mapped_column(String(128))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id"), index=True)
    region: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    max_workload: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class CustomerCase(Base):
    """One case per customer (CIF): status, arrears figures, strategy output, current agent."""

    __tablename__ = "customer_case"
    id: Mapped[uuid.UUID] = _pk()
    cif: Mapped[str] = mapped_column(String(64), unique=True)
    institution_id: Mapped[str | None] = mapped_column(String(64), index=True)
    region: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    bucket: Mapped[str] = mapped_column(String(16), default="CURRENT")
    overdue_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    outstanding_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    next_action: Mapped[str | None] = mapped_column(String(20))
    reminder_level: Mapped[str | None] = mapped_column(String(10))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agent.id"), index=True)
    contact_count: Mapped[int] = mapped_column(Integer, default=0)
    broken_promises: Mapped[int] = mapped_column(Integer, default=0)
    last_action_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CaseLoan(Base):
    """Read model of a customer's delinquent loan, fed by bank-sync events and payments."""

    __tablename__ = "case_loan"
    account_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer_case.id"), index=True)
    cif: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    bucket: Mapped[str] = mapped_column(String(16), default="CURRENT")
    overdue_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    outstanding_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = _now()


class CustomerCaseAction(Base):
    """Case history: every status change or case note, with who did it and why."""

    __tablename__ = "customer_case_action"
    id: Mapped[uuid.UUID] = _pk()
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer_case.id"), index=True)
    cif: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = _now()


class ActionRecord(Base):
    """A collection action by an agent (call, SMS, visit, promise to pay...) and its result."""

    __tablename__ = "action_record"
    __table_args__ = (Index("ix_action_record_agent_id_created_at", "agent_id", "created_at"),)
    id: Mapped[uuid.UUID] = _pk()
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer_case.id"), index=True)
    cif: Mapped[str] = mapped_column(String(64), index=True)
    account_number: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action_type: Mapped[str] = mapped_column(String(20), index=True)
    result: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    reminder_level: Mapped[str | None] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = _now()
    result_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ActionResultRow(Base):
    """History of the results set on an action (``PUT /api/actions/:id/result``)."""

    __tablename__ = "action_result"
    id: Mapped[uuid.UUID] = _pk()
    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("action_record.id"), index=True)
    result: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = _now()


class PromiseToPay(Base):
    """A customer's promise to pay an amount by a date; kept, broken or cancelled."""

    __tablename__ = "promise_to_pay"
    id: Mapped[uuid.UUID] = _pk()
    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("action_record.id"), unique=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer_case.id"), index=True)
    cif: Mapped[str] = mapped_column(String(64), index=True)
    account_number: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[datetime] = _now()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CustomerAgent(Base):
    """Assignment of a customer to an agent; ended rows are the assignment history."""

    __tablename__ = "customer_agent"
    __table_args__ = (
        Index("uq_customer_agent_active_cif", "cif", unique=True, postgresql_where=text("active")),
        Index("ix_customer_agent_agent_id_active", "agent_id", "active"),
    )
    id: Mapped[uuid.UUID] = _pk()
    cif: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer_case.id"))
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agent.id"))
    institution_id: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    assigned_by: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    assigned_at: Mapped[datetime] = _now()
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StrategyRule(Base):
    """A configurable strategy rule of an institution (see domain.strategy.Rule)."""

    __tablename__ = "strategy_rule"
    __table_args__ = (UniqueConstraint("institution_id", "name"),)
    id: Mapped[uuid.UUID] = _pk()
    institution_id: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(120))
    rank: Mapped[int] = mapped_column(Integer, default=100)
    min_dpd: Mapped[int | None] = mapped_column(Integer)
    max_dpd: Mapped[int | None] = mapped_column(Integer)
    min_outstanding: Mapped[int | None] = mapped_column(BigInteger)
    max_outstanding: Mapped[int | None] = mapped_column(BigInteger)
    min_broken_promises: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer)
    next_action: Mapped[str] = mapped_column(String(20))
    reminder_level: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _now()


class Task(Base):
    """An entry of an agent's daily task list (generated by the scheduled job)."""

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("task_date", "case_id"),
        Index("ix_task_agent_id_task_date", "agent_id", "task_date"),
    )
    id: Mapped[uuid.UUID] = _pk()
    task_date: Mapped[date] = mapped_column(Date)
    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    cif: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer)
    action_type: Mapped[str] = mapped_column(String(20))
    reminder_level: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="OPEN")
    created_at: Mapped[datetime] = _now()


class PaymentCredit(Base):
    """A payment (or reversal, negative) credited to a case and the agent holding it then."""

    __tablename__ = "payment_credit"
    __table_args__ = (Index("ix_payment_credit_agent_id_paid_at", "agent_id", "paid_at"),)
    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    original_payment_id: Mapped[str | None] = mapped_column(String(64), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    cif: Mapped[str] = mapped_column(String(64))
    account_number: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    promise_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    promise_applied: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
