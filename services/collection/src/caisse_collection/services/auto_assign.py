"""Nightly automatic assignment of every open unassigned case, set-based: one read, the balancer
in memory, one statement that assigns and records history, one that writes the events' outbox rows.

The events are built and Avro-encoded while PostgreSQL runs the assignment statement: both take
seconds for a whole book, and they run on different cores."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import NamedTuple

from caisse_shared.events.registry import default_registry
from caisse_shared.messaging.outbox import insert_outbox_rows, outbox_row
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.config import SCHEMA
from caisse_collection.db.models import Agent
from caisse_collection.domain.assignment import Balancer, CaseToAssign
from caisse_collection.domain.cases import OPEN_STATUSES
from caisse_collection.services import events
from caisse_collection.services.assignments import AUTO, agent_loads

REASON = "automatic assignment"
Row = dict[str, object]  # an outbox row as caisse_shared.messaging.outbox.outbox_row makes it
_YIELD_EVERY = 250  # events prepared between two yields: the loop must stream the statement out

# Ids travel as text: the balancer keys on strings, and asyncpg encodes text into uuid[] arrays,
# so 100,000 rows never become uuid.UUID objects on the way in or out.
_UNASSIGNED = text(
    "SELECT c.id::text, c.cif, c.outstanding_amount, c.bucket, c.region, "
    "(SELECT ca.agent_id::text FROM collection.customer_agent ca WHERE ca.cif = c.cif "
    " ORDER BY ca.assigned_at DESC LIMIT 1) AS prev "
    "FROM collection.customer_case c WHERE c.agent_id IS NULL AND c.status = ANY(:open) "
    "AND c.institution_id IS NOT DISTINCT FROM :inst"
)

# One statement for the whole placement (three array parameters, so no bind-parameter limit):
# a case takes its agent only if it is still unassigned (a manual assignment committed since the
# read wins), and each case actually taken gets its history row; RETURNING says which were.
_ASSIGN = text(
    "WITH placed AS ("
    " SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:case_ids AS uuid[]), CAST(:agent_ids AS uuid[]))"
    " AS p(id, case_id, agent_id)"
    "), taken AS ("
    " UPDATE collection.customer_case c SET agent_id = p.agent_id FROM placed p"
    " WHERE c.id = p.case_id AND c.agent_id IS NULL RETURNING p.id, c.cif, c.id AS case_id, c.agent_id"
    ") "
    "INSERT INTO collection.customer_agent "
    "(id, cif, case_id, agent_id, institution_id, method, reason, assigned_by, active) "
    "SELECT t.id, t.cif, t.case_id, t.agent_id, :inst, :method, :reason, :by, true FROM taken t "
    "RETURNING id::text"
)


class NewAssignment(NamedTuple):
    """A history row the set-based assignment writes, as the event builder reads it."""

    id: str
    case_id: str
    cif: str
    agent_id: str
    method: str
    reason: str | None
    assigned_by: str
    institution_id: str | None


async def _unassigned_cases(
    session: AsyncSession, institution_id: str | None
) -> tuple[list[CaseToAssign], dict[str, str]]:
    """Open unassigned cases of an institution, each with the agent they had last; and their CIFs."""
    params = {"open": [s.value for s in OPEN_STATUSES], "inst": institution_id}
    rows = (await session.execute(_UNASSIGNED, params)).all()
    todo = [CaseToAssign(cid, amount, bucket, region, prev) for cid, _, amount, bucket, region, prev in rows]
    return todo, {r[0]: r[1] for r in rows}


def _plan(
    placed: dict[str, str], cifs: dict[str, str], institution_id: str | None, by: str
) -> list[NewAssignment]:
    """History rows for the placements, ids chosen here so events can be built before the write."""
    return [
        NewAssignment(str(uuid.uuid4()), cid, cifs[cid], aid, AUTO, REASON, by, institution_id)
        for cid, aid in placed.items()
    ]


async def _write(session: AsyncSession, plan: list[NewAssignment], institution_id: str | None) -> set[str]:
    """Assign the planned cases and write their history rows; ids of the rows actually written."""
    params = {
        "ids": [a.id for a in plan],
        "case_ids": [a.case_id for a in plan],
        "agent_ids": [a.agent_id for a in plan],
        "inst": institution_id,
        "method": AUTO,
        "reason": REASON,
        "by": plan[0].assigned_by,
    }
    return {r[0] for r in (await session.execute(_ASSIGN, params)).all()}


async def _prepare_events(plan: list[NewAssignment], teams: dict[str, str | None]) -> list[tuple[str, Row]]:
    """Outbox row (validated, encoded) of each planned CUSTOMER_ASSIGNED, with its assignment id."""
    registry = default_registry()
    out: list[tuple[str, Row]] = []
    for i in range(0, len(plan), _YIELD_EVERY):
        await asyncio.sleep(0)  # lets the write task send its statement and read the answer
        for a in plan[i : i + _YIELD_EVERY]:
            event = events.customer_assigned(a, None, teams.get(a.agent_id))
            out.append((a.id, outbox_row(event, registry, SCHEMA)))
    return out


async def _teams(session: AsyncSession, agent_ids: Sequence[uuid.UUID]) -> dict[str, str | None]:
    """Team of each agent, keyed by the agent id as text."""
    rows = await session.execute(select(Agent.id, Agent.team_id).where(Agent.id.in_(agent_ids)))
    return {str(a): (str(t) if t else None) for a, t in rows}


async def _write_with_events(
    session: AsyncSession, plan: list[NewAssignment], teams: dict[str, str | None]
) -> list[Row]:
    """Run the write while preparing the events; the outbox rows of the assignments written."""
    # Only the write task uses the session meanwhile; the preparation is pure computation.
    write = asyncio.ensure_future(_write(session, plan, plan[0].institution_id))
    try:
        prepared = await _prepare_events(plan, teams)
    finally:
        written = await write  # never leave the statement running on the session
    if len(written) == len(plan):
        return [row for _, row in prepared]
    return [row for aid, row in prepared if aid in written]  # some were assigned meanwhile


async def auto_assign_open_cases(
    session: AsyncSession, institution_id: str | None, *, by: str, team_id: uuid.UUID | None = None
) -> int:
    """Bulk automatic assignment of every open unassigned case of an institution (set-based)."""
    loads = await agent_loads(session, institution_id, team_id)
    if not loads:
        return 0
    todo, cifs = await _unassigned_cases(session, institution_id)
    placed = Balancer(loads.values()).assign_all(todo)
    if not placed:
        return 0
    teams = await _teams(session, list(loads))
    rows = await _write_with_events(session, _plan(placed, cifs, institution_id, by), teams)
    await insert_outbox_rows(session, rows)
    return len(rows)
