"""Scheduled jobs: broken-promise detection and the daily task list (run by the worker, the CLI
and tests). Each job runs inside the caller's unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.db.models import CustomerCase, PromiseToPay, StrategyRule, Task
from caisse_collection.domain.cases import OPEN_STATUSES, CaseStatus, can_transition
from caisse_collection.domain.promises import PromiseStatus, is_broken
from caisse_collection.domain.strategy import CaseFacts, Rule, decide
from caisse_collection.services.cases import change_status, refresh_strategy, rule_of

SCHEDULER = "scheduler"
_CHUNK = 3000  # 9 bind parameters per row: stay under asyncpg's 32767


async def detect_broken_promises(session: AsyncSession, today: date) -> int:
    """Pending promises past their date uncovered become BROKEN; their cases BROKEN_PROMISE."""
    promises = (
        (
            await session.execute(
                select(PromiseToPay)
                .where(PromiseToPay.status == PromiseStatus.PENDING.value, PromiseToPay.due_date < today)
                .order_by(PromiseToPay.case_id)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    broken = 0
    for promise in promises:
        if not is_broken(PromiseStatus(promise.status), promise.due_date, today):
            continue
        promise.status, promise.resolved_at = PromiseStatus.BROKEN.value, datetime.now(UTC)
        case = await session.get(CustomerCase, promise.case_id, with_for_update=True)
        assert case is not None
        case.broken_promises += 1
        if case.status == CaseStatus.PROMISE.value and can_transition(
            CaseStatus.PROMISE, CaseStatus.BROKEN_PROMISE
        ):
            await change_status(
                session,
                case,
                CaseStatus.BROKEN_PROMISE,
                by=SCHEDULER,
                reason=f"promise of {promise.due_date} not kept",
            )
        await refresh_strategy(session, case)
        broken += 1
    await session.flush()
    return broken


async def _rules_by_institution(session: AsyncSession) -> dict[str | None, list[Rule]]:
    rows = (
        await session.execute(
            select(StrategyRule).where(StrategyRule.active.is_(True)).order_by(StrategyRule.rank)
        )
    ).scalars()
    out: dict[str | None, list[Rule]] = {}
    for r in rows:
        out.setdefault(r.institution_id, []).append(rule_of(r))
    return out


async def generate_daily_tasks(session: AsyncSession, today: date) -> int:
    """One task per open assigned case for ``today`` (idempotent: reruns add nothing)."""
    rules = await _rules_by_institution(session)
    rows = (
        await session.execute(
            select(
                CustomerCase.id,
                CustomerCase.cif,
                CustomerCase.agent_id,
                CustomerCase.days_past_due,
                CustomerCase.outstanding_amount,
                CustomerCase.broken_promises,
                CustomerCase.institution_id,
            ).where(
                CustomerCase.agent_id.is_not(None), CustomerCase.status.in_([s.value for s in OPEN_STATUSES])
            )
        )
    ).all()
    tasks: list[dict[str, object]] = []
    for r in rows:
        d = decide(
            CaseFacts(r.days_past_due, r.outstanding_amount, r.broken_promises),
            rules.get(r.institution_id, ()),
        )
        tasks.append(
            {
                "id": uuid.uuid4(),
                "task_date": today,
                "agent_id": r.agent_id,
                "case_id": r.id,
                "cif": r.cif,
                "priority": d.priority,
                "action_type": d.next_action.value,
                "reminder_level": d.reminder_level.value,
                "status": "OPEN",
            }
        )
    before = await _task_count(session, today)
    for i in range(0, len(tasks), _CHUNK):
        # executemany (insertmanyvalues): far cheaper than compiling one huge VALUES statement
        await session.execute(insert(Task).on_conflict_do_nothing(), tasks[i : i + _CHUNK])
    return await _task_count(session, today) - before


async def _task_count(session: AsyncSession, day: date) -> int:
    return int(
        (
            await session.execute(select(func.count()).select_from(Task).where(Task.task_date == day))
        ).scalar_one()
    )


async def run_all(session: AsyncSession, today: date) -> dict[str, int]:
    """Broken promises first (they escalate the strategy), then the task list."""
    broken = await detect_broken_promises(session, today)
    tasks = await generate_daily_tasks(session, today)
    return {"broken_promises": broken, "tasks_created": tasks}


async def tasks_of(session: AsyncSession, agent_id: uuid.UUID, day: date) -> Sequence[Task]:
    """An agent's task list for a day, highest priority first."""
    stmt = (
        select(Task)
        .where(Task.agent_id == agent_id, Task.task_date == day)
        .order_by(Task.priority.desc(), Task.cif)
    )
    return (await session.execute(stmt)).scalars().all()
