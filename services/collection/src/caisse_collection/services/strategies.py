"""Strategy rules management and the strategy preview for a case."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.db import repositories as repo
from caisse_collection.db.models import StrategyRule
from caisse_collection.domain.actions import ActionType
from caisse_collection.domain.strategy import ReminderLevel
from caisse_collection.errors import DuplicateResource, RuleViolation
from caisse_collection.services.scope import Actor


@dataclass(frozen=True, slots=True)
class RuleInput:
    """A strategy rule as configured by a manager."""

    name: str
    priority: int
    next_action: ActionType
    reminder_level: ReminderLevel
    rank: int = 100
    min_dpd: int | None = None
    max_dpd: int | None = None
    min_outstanding: int | None = None
    max_outstanding: int | None = None
    min_broken_promises: int | None = None


def _check_bounds(r: RuleInput) -> None:
    for lo, hi, what in (
        (r.min_dpd, r.max_dpd, "dpd"),
        (r.min_outstanding, r.max_outstanding, "outstanding"),
    ):
        if lo is not None and hi is not None and lo > hi:
            raise RuleViolation(f"min_{what} is above max_{what}")


async def create_rule(session: AsyncSession, actor: Actor, data: RuleInput) -> StrategyRule:
    """Add a rule to the caller's institution strategy."""
    _check_bounds(data)
    exists = (
        await session.execute(
            select(StrategyRule.id).where(
                StrategyRule.institution_id.is_not_distinct_from(actor.institution_id),
                StrategyRule.name == data.name,
            )
        )
    ).first()
    if exists:
        raise DuplicateResource("a rule with this name already exists")
    row = StrategyRule(
        id=uuid.uuid4(),
        institution_id=actor.institution_id,
        name=data.name,
        rank=data.rank,
        min_dpd=data.min_dpd,
        max_dpd=data.max_dpd,
        min_outstanding=data.min_outstanding,
        max_outstanding=data.max_outstanding,
        min_broken_promises=data.min_broken_promises,
        priority=data.priority,
        next_action=data.next_action.value,
        reminder_level=data.reminder_level.value,
        active=True,
    )
    session.add(row)
    await session.flush()
    return row


async def list_rules(session: AsyncSession, actor: Actor) -> Sequence[StrategyRule]:
    """Active rules of the caller's institution, in evaluation order."""
    return await repo.strategy_rules(session, actor.institution_id)
