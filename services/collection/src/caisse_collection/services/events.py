"""Builders of the events this service publishes (ACTION_RECORDED, CUSTOMER_ASSIGNED,
STATUS_CHANGED of §3.4), all keyed by CIF."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from caisse_shared.events.envelope import Event

from caisse_collection.db.models import ActionRecord, CustomerCase, PromiseToPay

TOPIC_ACTION_RECORDED = "collection.action.recorded"
TOPIC_CUSTOMER_ASSIGNED = "collection.customer.assigned"
TOPIC_STATUS_CHANGED = "collection.case.status_changed"


class Assignment(Protocol):
    """What CUSTOMER_ASSIGNED reads of an assignment (an ORM row or a set-based insert's row)."""

    @property
    def id(self) -> object: ...
    @property
    def case_id(self) -> object: ...
    @property
    def cif(self) -> str: ...
    @property
    def agent_id(self) -> object: ...
    @property
    def method(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def assigned_by(self) -> str: ...
    @property
    def institution_id(self) -> str | None: ...


def _s(value: object | None) -> str | None:
    return None if value is None else str(value)


def action_recorded(action: ActionRecord, institution_id: str | None, promise: PromiseToPay | None) -> Event:
    """ACTION_RECORDED for a new action or its result."""
    return Event(
        event_type="collection.ActionRecorded",
        topic=TOPIC_ACTION_RECORDED,
        key=action.cif,
        payload={
            "action_id": str(action.id),
            "case_id": str(action.case_id),
            "cif": action.cif,
            "account_number": action.account_number,
            "agent_id": _s(action.agent_id),
            "action_type": action.action_type,
            "result": action.result,
            "reminder_level": action.reminder_level,
            "promise_amount": promise.amount if promise else None,
            "promise_currency": promise.currency if promise else None,
            "promise_date": promise.due_date if promise else None,
            "recorded_by": action.created_by,
            "institution_id": institution_id,
            "recorded_at": datetime.now(UTC),
        },
    )


def customer_assigned(a: Assignment, previous_agent_id: object | None, team_id: object | None) -> Event:
    """CUSTOMER_ASSIGNED for a new assignment."""
    return Event(
        event_type="collection.CustomerAssigned",
        topic=TOPIC_CUSTOMER_ASSIGNED,
        key=a.cif,
        payload={
            "assignment_id": str(a.id),
            "case_id": str(a.case_id),
            "cif": a.cif,
            "agent_id": str(a.agent_id),
            "previous_agent_id": _s(previous_agent_id),
            "team_id": _s(team_id),
            "method": a.method,
            "reason": a.reason,
            "assigned_by": a.assigned_by,
            "institution_id": a.institution_id,
            "assigned_at": datetime.now(UTC),
        },
    )


def status_changed(case: CustomerCase, previous: str | None, reason: str | None, changed_by: str) -> Event:
    """STATUS_CHANGED for an opened case or a status move."""
    return Event(
        event_type="collection.CaseStatusChanged",
        topic=TOPIC_STATUS_CHANGED,
        key=case.cif,
        payload={
            "case_id": str(case.id),
            "cif": case.cif,
            "previous_status": previous,
            "status": case.status,
            "reason": reason,
            "agent_id": _s(case.agent_id),
            "changed_by": changed_by,
            "days_past_due": case.days_past_due,
            "overdue_amount": case.overdue_amount,
            "currency": case.currency,
            "institution_id": case.institution_id,
            "changed_at": datetime.now(UTC),
        },
    )
