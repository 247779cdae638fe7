"""Connector interface: an extract yields chunks of canonical rows and collects bad rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Protocol

# A canonical row: (line number, value of each canonical field as text or None).
Row = tuple[int | str | None, ...]
CHUNK_ROWS = 20_000


class Chunk(Protocol):
    """A list of rows, or a sized iterable of rows the engine may stage faster (CsvBlock)."""

    def __iter__(self) -> Iterator[Row]: ...

    def __len__(self) -> int: ...


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row quarantined before staging (encoding, field count, truncation, JSON)."""

    line: int
    reason: str
    raw: str = ""


class ExtractError(Exception):
    """The whole extract is unusable (missing column, unreadable header, HTTP failure)."""


@dataclass
class Extract:
    """One entity's extract from one source; ``chunks()`` streams rows, ``bad_rows`` fills up."""

    entity: str
    name: str  # file path or URL, reported with errors
    bad_rows: list[BadRow] = field(default_factory=list)
    rows_read: int = 0

    def chunks(self) -> AsyncIterator[Chunk]:
        """Async chunks of canonical rows."""
        raise NotImplementedError


class SyncChunkExtract(Extract):
    """An extract parsed by a blocking generator, run in a thread one chunk ahead (pipelined)."""

    def _iter_chunks(self) -> Iterator[Chunk]:
        raise NotImplementedError

    async def chunks(self) -> AsyncIterator[Chunk]:
        """Parse the next chunk in a thread while the caller copies the current one."""
        it = self._iter_chunks()
        pending = asyncio.ensure_future(asyncio.to_thread(next, it, None))
        while True:
            chunk = await pending
            if chunk is None:
                return
            pending = asyncio.ensure_future(asyncio.to_thread(next, it, None))
            self.rows_read += len(chunk)
            yield chunk


class Connector(Protocol):
    """A source system reachable through files or an API."""

    source: str

    def entities(self) -> list[str]:
        """Entity types this source currently offers."""
        ...

    def open(self, entity: str) -> Extract:
        """The extract of one entity type."""
        ...
