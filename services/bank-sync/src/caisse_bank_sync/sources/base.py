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
    # Reported with jobs and errors: a file's name relative to its source's folder (never the
    # server path) or an HTTP source's URL.
    name: str
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
        pending = asyncio.ensure_future(self._next(it))
        while True:
            chunk = await pending
            if chunk is None:
                return
            pending = asyncio.ensure_future(self._next(it))
            self.rows_read += len(chunk)
            yield chunk

    async def _next(self, it: Iterator[Chunk]) -> Chunk | None:
        """The next chunk parsed in a thread; an unreadable file is an ExtractError naming it
        by ``name`` (an OSError's text carries the server path, kept for the log only)."""
        try:
            return await asyncio.to_thread(next, it, None)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ExtractError(f"{self.name}: cannot read ({reason})") from exc


class Connector(Protocol):
    """A source system reachable through files or an API."""

    source: str

    def entities(self) -> list[str]:
        """Entity types this source currently offers."""
        ...

    def open(self, entity: str) -> Extract:
        """The extract of one entity type."""
        ...

    def redact(self, message: str) -> str:
        """``message`` as clients may see it: without the server's paths to this source."""
        ...
