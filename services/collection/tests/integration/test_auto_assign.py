"""Set-based automatic assignment gives what the per-case path gives: same placements (balance,
team bucket / region rules, capacity, stickiness), one history row and one event per assignment;
a case assigned between the read and the write is left to its new agent, without an event."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from caisse_collection.db.models import Agent, Base, CustomerAgent, CustomerCase, Team
from caisse_collection.domain.buckets import bucket_for
from caisse_collection.services import assignments, auto_assign
from caisse_shared.db import Database
from caisse_shared.events.registry import default_registry
from caisse_shared.messaging.tables import outbox_table
from sqlalchemy import insert, select

pytestmark = pytest.mark.integration
SERVICE_DIR = Path(__file__).resolve().parents[2]
INST = "SFD-AUTO"
TEAM_EARLY, TEAM_ALL = uuid.UUID(int=1), uuid.UUID(int=2)
AGENTS = [uuid.UUID(int=100 + i) for i in range(5)]
ASSIGNED = "collection.CustomerAssigned"


async def _seed(db: Database) -> None:
    """Two teams (one for early buckets only), five agents (one of region NORD, one capped at
    two customers), sixteen cases of distinct amounts, two of them previously with an agent."""
    async with db.unit_of_work() as s:
        await s.execute(
            insert(Team),
            [
                {"id": TEAM_EARLY, "institution_id": INST, "name": "early", "buckets": ["1-30"]},
                {"id": TEAM_ALL, "institution_id": INST, "name": "all", "buckets": []},
            ],
        )
        regions = ["NORD", None, None, None, None]
        caps = [None, None, 2, None, None]
        teams = [TEAM_ALL, TEAM_EARLY, TEAM_ALL, TEAM_ALL, TEAM_EARLY]
        await s.execute(
            insert(Agent),
            [
                {"id": a, "institution_id": INST, "code": f"A{i}", "name": f"Agent {i}", "status": "ACTIVE"}
                | {"team_id": teams[i], "region": regions[i], "max_workload": caps[i]}
                for i, a in enumerate(AGENTS)
            ],
        )
        cases = []
        for i in range(16):
            dpd = (5, 45, 75, 120)[i % 4]
            cases.append(
                {
                    "id": uuid.UUID(int=1000 + i),
                    "cif": f"C{i:02d}",
                    "institution_id": INST,
                    "region": ("NORD", "SUD", None)[i % 3],
                    "status": "NEW",
                    "currency": "XOF",
                    "days_past_due": dpd,
                    "bucket": bucket_for(dpd),
                    "outstanding_amount": 100_000 + i * 37_000,
                }
            )
        await s.execute(insert(CustomerCase), cases)
        # History: C03 and C07 were with agent 3 before (ended assignments): they should go back.
        await s.execute(
            insert(CustomerAgent),
            [
                {"cif": c, "case_id": uuid.UUID(int=1000 + n), "agent_id": AGENTS[3]}
                | {"institution_id": INST, "method": "MANUAL", "assigned_by": "x", "active": False}
                for c, n in (("C03", 3), ("C07", 7))
            ],
        )


@pytest.fixture
async def databases(pg: Any) -> AsyncIterator[tuple[Database, Database]]:
    """Two identical seeded databases: one per assignment path."""
    dbs = (
        Database(await pg.migrated_database(SERVICE_DIR), Base.metadata),
        Database(await pg.migrated_database(SERVICE_DIR), Base.metadata),
    )
    for db in dbs:
        await _seed(db)
    yield dbs
    for db in dbs:
        await db.dispose()


async def _outcome(db: Database) -> tuple[dict[str, uuid.UUID | None], list[Any], list[dict[str, Any]]]:
    """(agent of each case, active history rows, decoded CUSTOMER_ASSIGNED payloads)."""
    reg = default_registry()
    async with db.unit_of_work() as s:
        owners = dict((await s.execute(select(CustomerCase.cif, CustomerCase.agent_id))).all())
        active = (await s.execute(select(CustomerAgent).where(CustomerAgent.active.is_(True)))).scalars()
        out = outbox_table(Base.metadata)
        rows = (await s.execute(select(out.c.payload).where(out.c.event_type == ASSIGNED))).scalars()
        return owners, list(active), [reg.decode(ASSIGNED, 1, p) for p in rows]


async def test_set_based_equals_per_case_path(databases: tuple[Database, Database]) -> None:
    bulk_db, per_case_db = databases
    async with bulk_db.unit_of_work() as s:
        n = await auto_assign.auto_assign_open_cases(s, INST, by="job")
    async with per_case_db.unit_of_work() as s:
        cases = (await s.execute(select(CustomerCase).order_by(CustomerCase.cif))).scalars().all()
        placed = await assignments.balance(s, cases, INST, by="job", method=assignments.AUTO)
    owners, history, events = await _outcome(bulk_db)
    expected_owners, expected_history, expected_events = await _outcome(per_case_db)
    assert n == len(placed) == 16
    assert owners == expected_owners
    assert (owners["C03"], owners["C07"]) == (AGENTS[3], AGENTS[3])  # back with their agent
    assert sum(1 for o in owners.values() if o == AGENTS[2]) == 2  # capacity
    assert all(owners[c.cif] != AGENTS[0] or c.region in ("NORD", None) for c in cases)
    early = {AGENTS[1], AGENTS[4]}
    assert all(owners[c.cif] not in early or c.bucket == "1-30" for c in cases)
    assert len(history) == len(expected_history) == 16
    assert {(h.cif, h.agent_id, h.method, h.reason, h.assigned_by) for h in history} == {
        (h.cif, h.agent_id, h.method, h.reason, h.assigned_by) for h in expected_history
    }
    assert len(events) == len(expected_events) == 16
    by_cif = {h.cif: h for h in history}
    teams = dict(zip(AGENTS, [TEAM_ALL, TEAM_EARLY, TEAM_ALL, TEAM_ALL, TEAM_EARLY], strict=True))
    for e in events:
        row = by_cif[e["cif"]]
        assert (e["assignment_id"], e["case_id"], e["agent_id"]) == (
            str(row.id),
            str(row.case_id),
            str(row.agent_id),
        )
        assert (e["team_id"], e["previous_agent_id"], e["method"]) == (str(teams[row.agent_id]), None, "AUTO")
        assert (e["institution_id"], e["assigned_by"], e["reason"]) == (INST, "job", "automatic assignment")


async def test_case_assigned_after_the_read_is_left_alone(
    databases: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = databases
    read = auto_assign._unassigned_cases

    async def read_then_assign(session: Any, institution_id: str | None) -> Any:
        todo = await read(session, institution_id)
        # A manager assigns C05 by hand once the job has read it as unassigned.
        case = (await session.execute(select(CustomerCase).where(CustomerCase.cif == "C05"))).scalar_one()
        agent = await session.get(Agent, AGENTS[4])
        await assignments.assign(session, case, agent, method="MANUAL", by="mgr", reason=None)
        return todo

    monkeypatch.setattr(auto_assign, "_unassigned_cases", read_then_assign)
    async with db.unit_of_work() as s:
        n = await auto_assign.auto_assign_open_cases(s, INST, by="job")
    owners, history, events = await _outcome(db)
    assert n == 15 and len(events) == 16  # fifteen automatic ones plus the manual one
    assert owners["C05"] == AGENTS[4]
    assert [(h.method, h.agent_id) for h in history if h.cif == "C05"] == [("MANUAL", AGENTS[4])]
    assert sorted(e["method"] for e in events if e["cif"] == "C05") == ["MANUAL"]
    assert len(history) == 16 and all(o is not None for o in owners.values())
