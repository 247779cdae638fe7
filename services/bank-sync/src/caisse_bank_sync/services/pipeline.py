# ruff: noqa: S608  -- SQL identifiers come from the entity specs only; values are bound.
"""Staging pipeline: each extract staged raw, then validated in parts the sync writes in turn.

On connections of their own (``stage_workers`` of them, outside the sync's transaction), in
load order: while the sync's connection writes part 1 of the loans, part 2 is being typed and
the next extract copied. Staging tables are scratch (committed per task, dropped with the job).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from typing import Any

from caisse_bank_sync.config import SCHEMA
from caisse_bank_sync.db import bulk_sql as q
from caisse_bank_sync.db.bulk_sql import PageRange
from caisse_bank_sync.domain.entities import EntitySpec
from caisse_bank_sync.services.staging import ProgressCb, RawStager
from caisse_bank_sync.sources.base import Extract

StageConnFn = Callable[[], AbstractAsyncContextManager[Any]]
Records = list[tuple[Any, ...]]
# Rows per validated part: small enough that the sync's writes start early, large enough that
# a part's fixed cost (a few statements, one table) stays negligible.
PART_ROWS = 200_000
WORK_MEM = "64MB"
# A sync's sessions notice within a second that their client died (a killed worker), not
# after the statement in flight: until then they keep its locks, and a rerun gets 409.
# Measured: a killed client's 70 s statement kept its lock 71.5 s without, 0.5 s with.
CLIENT_CHECK = "SET LOCAL client_connection_check_interval = '1s'"
DUP_WORK_MEM = "256MB"
# Validation is CPU-bound per row (hash, parsing): a Gather's tuple transfer costs far less
# than the planner's default assumes, so a single part is typed by two processes.
FAVOUR_PARALLEL = "SET LOCAL parallel_setup_cost = 100; SET LOCAL parallel_tuple_cost = 0.001"
NEUTRAL_PARALLEL = "RESET parallel_setup_cost; RESET parallel_tuple_cost"


@contextlib.asynccontextmanager
async def parallel_favoured(conn: Any) -> AsyncIterator[None]:
    """Statements inside are planned with FAVOUR_PARALLEL (reset after; on an error the
    transaction ends anyway, and its SET LOCAL with it)."""
    await conn.execute(FAVOUR_PARALLEL)
    yield
    await conn.execute(NEUTRAL_PARALLEL)


_DONE = sys.maxsize
_RAW, _DUPS = -2, -1  # task kinds before an extract's parts (0, 1, …), in priority order


@dataclass(frozen=True, slots=True)
class RawStaged:
    """An extract staged raw: rows and the page range of each part."""

    rows: int
    parts: list[PageRange | None]


@dataclass(frozen=True, slots=True)
class StagedPart:
    """One validated part: typed rows (changed or new), valid ones, delinquency events (loans)."""

    part: int
    typed: int
    valid: int
    events: asyncio.Future[Records] | None = None
    # Keys of the valid rows, read by staging for a table claimed empty (all of them new).
    keys: list[str] | None = None


@dataclass
class EntityStage:
    """One extract's staging as futures: raw first, then each part (created with the raw)."""

    index: int
    spec: EntitySpec
    extract: Extract
    raw: asyncio.Future[RawStaged] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    # Keys present more than once, searched while the first part is typed.
    dups: asyncio.Future[list[str]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    parts: list[asyncio.Future[StagedPart]] = field(default_factory=list)

    async def staged_parts(self, idle: IdleFn | None = None) -> AsyncIterator[StagedPart]:
        """The validated parts in order, as they become ready; ``idle`` runs one pending chore
        of the caller while one is not (returns whether more remain)."""
        await _ready(self.raw, idle)
        for fut in self.parts:
            await _ready(fut, idle)
            yield fut.result()

    def futures(self) -> list[asyncio.Future[Any]]:
        """Every future of this extract (for failing or collecting them)."""
        return [self.raw, self.dups, *self.parts]


IdleFn = Callable[[], Awaitable[bool]]
EventsFn = Callable[[Any, int, str, str], Awaitable[asyncio.Future[Records]]]


class Stager:
    """Runs the staging tasks of one sync: raw staging and part validation."""

    def __init__(self, staging: str, source: str, progress: ProgressCb, events: EventsFn) -> None:
        self.staging, self.source, self.progress, self.events = staging, source, progress, events
        # Entity tables the sync claimed empty (before staging): parts read their stand-in.
        self.claimed: set[str] = set()

    def target(self, spec: EntitySpec) -> str:
        """Table a part compares its rows with: the entity's, or its empty stand-in."""
        return q.stand_in(spec) if spec.name in self.claimed else f"{SCHEMA}.{spec.name}"

    async def inline(self, conn: Any, st: EntityStage) -> None:
        """Stage one extract on the sync's own connection (no staging connections)."""
        _resolve_raw(st, await self.stage_raw(conn, st))
        st.dups.set_result(await self.find_duplicates(conn, st))
        for part in range(len(st.parts)):
            staged = await self.stage_part(conn, st, part)
            if st.spec.name == "loan":
                staged = replace(
                    staged, events=await self.events(conn, part, self.source, self.target(st.spec))
                )
            st.parts[part].set_result(staged)

    async def ahead(self, stage_conn: StageConnFn, stages: list[EntityStage], workers: int) -> None:
        """Stage every extract on ``workers`` connections, raw tasks and parts by load order."""
        if not stages:
            return
        queue: asyncio.PriorityQueue[tuple[int, int]] = asyncio.PriorityQueue()
        for st in stages:
            queue.put_nowait((st.index, _RAW))
        raw_left = [len(stages)]
        tasks: list[asyncio.Future[None]] = []
        try:
            async with stage_conn() as conn:
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.staging}")
            tasks = [
                asyncio.ensure_future(self._worker(stage_conn, stages, queue, raw_left, workers))
                for _ in range(workers)
            ]
            await asyncio.gather(*tasks)
        except BaseException as exc:
            for t in tasks:
                t.cancel()
            # Wait for them to unwind: each rolls back and returns its connection to the pool
            # before the sync goes on (to fail the job, or a later sync takes that connection).
            await asyncio.gather(*tasks, return_exceptions=True)
            for fut in (f for st in stages for f in st.futures()):
                if not fut.done():
                    fut.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            raise

    async def _worker(
        self,
        stage_conn: StageConnFn,
        stages: list[EntityStage],
        queue: asyncio.PriorityQueue[tuple[int, int]],
        raw_left: list[int],
        workers: int,
    ) -> None:
        """Take the most urgent task (earliest extract: raw, then its duplicate search, then its
        parts in order) until all are done. A part waits for its extract's duplicates, whose
        search is always taken before the part (higher priority), so it always finishes."""
        async with stage_conn() as conn:
            while (task := await queue.get())[0] != _DONE:
                st, part = stages[task[0]], task[1]
                if part == _DUPS:
                    await self._settle_future(st.dups, self._in_transaction(conn, self.find_duplicates, st))
                    continue
                async with self._transaction(conn):
                    if part == _RAW:
                        raw = await self.stage_raw(conn, st)
                    else:
                        staged = await self.stage_part(conn, st, part)
                # Resolved once committed: the sync's connection reads the tables then.
                if part >= 0:
                    await self._publish_part(conn, st, staged)
                    continue
                _resolve_raw(st, raw)
                for p in (_DUPS, *range(len(st.parts))):
                    queue.put_nowait((st.index, p))
                raw_left[0] -= 1
                if not raw_left[0]:  # every task is queued: stop once they are taken
                    for _ in range(workers):
                        queue.put_nowait((_DONE, 0))

    async def _in_transaction(self, conn: Any, step: Any, st: EntityStage) -> Any:
        async with self._transaction(conn):
            return await step(conn, st)

    @staticmethod
    async def _settle_future(fut: asyncio.Future[Any], work: Awaitable[Any]) -> None:
        """Resolve ``fut`` with the outcome of ``work`` (an error also fails the worker)."""
        try:
            fut.set_result(await work)
        except BaseException as exc:
            fut.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            raise

    @contextlib.asynccontextmanager
    async def _transaction(self, conn: Any) -> AsyncIterator[None]:
        """A staging transaction (committed tables the sync's connection can read), with the
        staging search path and memory setting."""
        async with conn.transaction():
            await conn.execute(
                f"SET LOCAL work_mem = '{WORK_MEM}'; {CLIENT_CHECK};"
                f" SET LOCAL search_path TO {self.staging}, {SCHEMA}, public"
            )
            yield

    async def _publish_part(self, conn: Any, st: EntityStage, staged: StagedPart) -> None:
        """Hand a committed part to the sync, then (loans) read its delinquency changes: the
        sync writes the part meanwhile (its changes stay invisible here until it commits)."""
        if st.spec.name != "loan":
            st.parts[staged.part].set_result(staged)
            return
        events: asyncio.Future[Records] = asyncio.get_running_loop().create_future()
        st.parts[staged.part].set_result(replace(staged, events=events))
        try:
            async with self._transaction(conn):
                encoding = await self.events(conn, staged.part, self.source, self.target(st.spec))
        except BaseException as exc:
            events.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            raise
        encoding.add_done_callback(lambda done: _forward(done, events))

    async def find_duplicates(self, conn: Any, st: EntityStage) -> list[str]:
        """Keys present more than once in the raw extract (every occurrence is quarantined)."""
        # A hash aggregate over every key, in memory. On a first load the other connection
        # is typing a part meanwhile: parallel workers would only add their overhead to the
        # CPU both need (serial here, measured 0.4 core-s less per million keys).
        helped = "" if st.spec.name in self.claimed else FAVOUR_PARALLEL
        await conn.execute(f"SET LOCAL work_mem = '{DUP_WORK_MEM}'; {helped}")
        dups = [r["dk"] for r in await conn.fetch(q.duplicate_keys(st.spec))]
        await conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'; {NEUTRAL_PARALLEL}")
        return dups

    async def stage_raw(self, conn: Any, st: EntityStage) -> RawStaged:
        """COPY the extract and cut it into parts."""
        spec = st.spec
        await RawStager(conn, spec).stage(st.extract, self.progress)
        await conn.execute(q.create_stand_in(spec))
        # Key statistics only: the joins on the key need the row count, not the value columns.
        await conn.execute(f"ANALYZE {q.raw_table(spec)} ({', '.join(spec.key)})")
        rows, pages = await conn.fetchrow(
            f"SELECT count(*), pg_relation_size('{q.raw_table(spec)}')"
            " / current_setting('block_size')::int FROM " + q.raw_table(spec)
        )
        # Parts only for a table claimed empty: against a populated one, each part would join
        # the whole table again (a reload compares every row with its record).
        n = max(1, -(-rows // PART_ROWS)) if spec.name in self.claimed else 1
        parts: list[PageRange | None] = [None]
        if n > 1:
            cuts = [pages * i // n for i in range(n + 1)]
            parts = [(cuts[i], cuts[i + 1] if i < n - 1 else None) for i in range(n)]
        return RawStaged(rows, parts)

    async def stage_part(self, conn: Any, st: EntityStage, part: int) -> StagedPart:
        """Normalise and validate one part's changed rows into its typed table, then mark the
        rows whose key the (concurrent) duplicate search found."""
        spec, raw = st.spec, st.raw.result()
        target, pages = self.target(spec), raw.parts[part]
        if pages is None:  # the whole extract: two flat statements, each with a parallel plan
            async with parallel_favoured(conn):
                await conn.execute(q.normalise(spec, part, target), self.source)
                status = await conn.execute(q.validate_and_type(spec, part))
        else:  # one TID range, one statement, one core; the other worker types the next part
            rows = q.fenced(spec, pages, target)
            status = await conn.execute(q.validate_and_type(spec, part, rows), self.source)
        typed = int(status.split()[-1])
        dups = await st.dups
        if dups:
            await conn.execute(q.mark_duplicates(spec, part), dups)
            added = await conn.execute(q.add_unchanged_duplicates(spec, part, pages), dups)
            typed += int(added.split()[-1])
        if spec.name in self.claimed:  # every valid row is new: its key is all the sync needs
            keys = list(await conn.fetchval(q.valid_keys(spec, part)))
            return StagedPart(part, typed, len(keys), keys=keys)
        valid = await conn.fetchval(f"SELECT count(*) FROM {q.typed_table(spec, part)} WHERE reason IS NULL")
        return StagedPart(part, typed, valid)


def _future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


async def _ready(fut: asyncio.Future[Any], idle: IdleFn | None) -> None:
    while idle is not None and not fut.done() and await idle():
        pass
    await fut


def _forward(src: asyncio.Future[Records], dst: asyncio.Future[Records]) -> None:
    """Give ``dst`` the outcome of ``src``."""
    if src.cancelled():
        dst.cancel()
    elif (exc := src.exception()) is not None:
        dst.set_exception(exc)
    else:
        dst.set_result(src.result())


def _resolve_raw(st: EntityStage, raw: RawStaged) -> None:
    """Publish a raw staging result, with one future per part to come."""
    loop = asyncio.get_running_loop()
    st.parts = [loop.create_future() for _ in raw.parts]
    st.raw.set_result(raw)
