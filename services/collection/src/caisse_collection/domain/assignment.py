"""Automatic assignment: balance cases across eligible agents by count and outstanding amount,
respect team bucket and region rules, keep a customer with their previous agent where possible."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class AgentLoad:
    """An agent as the balancer sees it (loads are updated as cases are placed)."""

    agent_id: str
    count: int = 0
    amount: int = 0
    capacity: int | None = None
    buckets: frozenset[str] = frozenset()  # empty = every bucket
    region: str | None = None  # None = every region
    version: int = 0

    def accepts(self, bucket: str, region: str | None) -> bool:
        """Team bucket rule, region rule and capacity."""
        if self.capacity is not None and self.count >= self.capacity:
            return False
        if self.buckets and bucket not in self.buckets:
            return False
        return self.region is None or region is None or self.region == region


@dataclass(frozen=True, slots=True)
class CaseToAssign:
    """A case waiting for an agent."""

    case_id: str
    outstanding: int
    bucket: str
    region: str | None = None
    previous_agent_id: str | None = None


@dataclass(slots=True)
class _Pool:
    """Lazy min-heap of the agents eligible for one (bucket, region) key."""

    agents: list[AgentLoad]
    heap: list[tuple[float, int, str]] = field(default_factory=list)


class Balancer:
    """Greedy balancer: biggest cases first, each to the eligible agent with the lowest load."""

    def __init__(self, agents: Iterable[AgentLoad]) -> None:
        self.agents = {a.agent_id: a for a in agents}
        n = max(len(self.agents), 1)
        self._count_unit = max(sum(a.count for a in self.agents.values()) / n, 1.0)
        self._amount_unit = max(sum(a.amount for a in self.agents.values()) / n, 1.0)
        self._pools: dict[tuple[str, str | None], _Pool] = {}

    def _score(self, a: AgentLoad) -> float:
        # Count and amount each normalised by the mean load so both weigh the same.
        return a.count / self._count_unit + a.amount / self._amount_unit

    def _pool(self, bucket: str, region: str | None) -> _Pool:
        key = (bucket, region)
        pool = self._pools.get(key)
        if pool is None:
            eligible = [
                a
                for a in self.agents.values()
                if (not a.buckets or bucket in a.buckets)
                and (a.region is None or region is None or a.region == region)
            ]
            pool = _Pool(eligible, [(self._score(a), a.version, a.agent_id) for a in eligible])
            heapq.heapify(pool.heap)
            self._pools[key] = pool
        return pool

    def _pick(self, case: CaseToAssign) -> AgentLoad | None:
        pool = self._pool(case.bucket, case.region)
        while pool.heap:
            _, version, agent_id = pool.heap[0]
            agent = self.agents[agent_id]
            if version != agent.version:  # stale entry: re-push with the current score
                heapq.heapreplace(pool.heap, (self._score(agent), agent.version, agent_id))
                continue
            if not agent.accepts(case.bucket, case.region):
                heapq.heappop(pool.heap)  # at capacity: out of this pool for good
                continue
            return agent
        return None

    def place(self, case: CaseToAssign) -> str | None:
        """Choose an agent for one case and book the load; None when nobody is eligible."""
        prev = self.agents.get(case.previous_agent_id or "")
        agent = prev if prev is not None and prev.accepts(case.bucket, case.region) else None
        agent = agent or self._pick(case)
        if agent is None:
            return None
        agent.count += 1
        agent.amount += case.outstanding
        agent.version += 1
        return agent.agent_id

    def assign_all(self, cases: Sequence[CaseToAssign]) -> dict[str, str]:
        """Place every case (biggest amounts first, so they spread); returns case_id -> agent_id."""
        n = max(len(self.agents), 1)
        booked_count = sum(a.count for a in self.agents.values())
        booked_amount = sum(a.amount for a in self.agents.values())
        self._count_unit = max((booked_count + len(cases)) / n, 1.0)
        self._amount_unit = max((booked_amount + sum(c.outstanding for c in cases)) / n, 1.0)
        self._pools.clear()
        out: dict[str, str] = {}
        for case in sorted(cases, key=lambda c: -c.outstanding):
            agent_id = self.place(case)
            if agent_id is not None:
                out[case.case_id] = agent_id
        return out


def workload_ratio(agents: Iterable[AgentLoad]) -> tuple[float, float]:
    """(max/min count ratio, max/min amount ratio) over agents with any load."""
    loads = list(agents)
    counts = [a.count for a in loads]
    amounts = [a.amount for a in loads]
    if not loads or min(counts) == 0:
        return float("inf"), float("inf")
    return max(counts) / min(counts), max(amounts) / max(min(amounts), 1)
