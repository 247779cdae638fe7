"""Stage an extract into its raw table: COPY of file bytes when safe, records otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from caisse_bank_sync.db import bulk_sql as q
from caisse_bank_sync.domain.entities import EntitySpec
from caisse_bank_sync.sources.base import Chunk, Extract, Row
from caisse_bank_sync.sources.csv_blocks import CsvBlock

ProgressCb = Callable[[str, int], None] | None


class RawStager:
    """COPYs the chunks of one extract into ``stg_raw_<entity>`` (caller's transaction)."""

    def __init__(self, conn: Any, spec: EntitySpec) -> None:
        self.conn, self.spec = conn, spec
        self.table = q.raw_table(spec)
        self._extra: set[str] = set()

    async def stage(self, extract: Extract, progress: ProgressCb = None) -> None:
        """Create the raw table and stream every chunk of the extract into it."""
        await self.conn.execute(q.create_raw(self.spec))
        async for chunk in extract.chunks():
            await self._chunk(chunk)
            if progress is not None:
                progress(self.spec.name, len(chunk))

    async def _chunk(self, chunk: Chunk) -> None:
        if isinstance(chunk, CsvBlock) and chunk.copyable and await self._copy_block(chunk):
            if not chunk.trimmed:
                await self._trim(chunk.first_line, chunk.first_line + chunk.lines - 1)
            return
        rows: list[Row] = await asyncio.to_thread(list, chunk) if isinstance(chunk, CsvBlock) else list(chunk)
        if rows:
            await self.conn.copy_records_to_table(
                self.table, records=rows, columns=("line", *self.spec.field_names)
            )
            lines = [int(r[0]) for r in rows if r[0] is not None]
            await self._trim(min(lines), max(lines))

    async def _trim(self, first: int, last: int) -> None:
        """Normalise the values of lines ``first``..``last`` (the source text's hash kept)."""
        await self.conn.execute(q.trim_lines(self.spec), first, last)

    async def _copy_block(self, block: CsvBlock) -> bool:
        """COPY the block's bytes (lines numbered by the identity); False if PostgreSQL refused
        it, the block then being parsed in Python instead (inside a savepoint, so no residue)."""
        await self._add_columns(block.columns)
        await self.conn.execute(q.set_next_line(self.spec, block.first_line))
        try:
            await self.conn.copy_to_table(
                self.table,
                source=_once(block.data),
                columns=block.columns,
                format="csv",
                delimiter=block.delimiter,
            )
        except (asyncpg.DataError, asyncpg.exceptions.BadCopyFileFormatError):
            await self.conn.execute("ROLLBACK TO SAVEPOINT stg_block; RELEASE SAVEPOINT stg_block")
            return False
        await self.conn.execute("RELEASE SAVEPOINT stg_block")
        return True

    async def _add_columns(self, columns: tuple[str, ...]) -> None:
        """File columns the entity does not use still need a column to be COPYed into."""
        extra = [c for c in columns if c not in self.spec.field_names and c not in self._extra]
        if extra:
            await self.conn.execute(
                f"ALTER TABLE {self.table} " + ", ".join(f"ADD COLUMN {c} text" for c in extra)
            )
            self._extra.update(extra)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
