"""File connector: CSV and JSON Lines extracts in a folder, one file per entity (see README)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from caisse_bank_sync.domain.entities import ENTITIES
from caisse_bank_sync.domain.layouts import Layout, layout
from caisse_bank_sync.sources.base import CHUNK_ROWS, BadRow, ExtractError, Row, SyncChunkExtract
from caisse_bank_sync.sources.csv_blocks import (
    CsvBlock,
    copyable,
    decoded_lines,
    parse_lines,
    read_blocks,
    trimmed,
)


class CsvExtract(SyncChunkExtract):
    """A delimited file with a header row naming the source columns."""

    def __init__(self, entity: str, path: Path, lay: Layout) -> None:
        super().__init__(entity=entity, name=lay.file_name)
        self.path, self.layout = path, lay
        self._pick: itemgetter[Any] = itemgetter(0)
        self._width = 0

    def _header(self, fh: IO[bytes]) -> tuple[str, ...]:
        """Read the header; returns the raw staging column of each file column."""
        try:
            header = next(csv.reader([fh.readline().decode("utf-8-sig")], delimiter=self.layout.delimiter))
        except (UnicodeDecodeError, StopIteration) as exc:
            raise ExtractError(f"{self.path.name}: unreadable header") from exc
        header = [h.strip() for h in header]
        spec = ENTITIES[self.entity]
        missing = [
            self.layout.column_for(f) for f in spec.field_names if self.layout.column_for(f) not in header
        ]
        if missing:
            raise ExtractError(f"{self.path.name}: missing columns {', '.join(missing)}")
        idx = [header.index(self.layout.column_for(f)) for f in spec.field_names]
        self._width, self._pick = len(header), itemgetter(*idx)
        names = dict(zip(idx, spec.field_names, strict=True))
        return tuple(names.get(i, f"x{i}") for i in range(len(header)))

    def _iter_chunks(self) -> Iterator[CsvBlock]:
        with self.path.open("rb") as fh:
            columns = self._header(fh)
            delim = self.layout.delimiter.encode()
            for data, first, n in read_blocks(fh, 2):
                safe = copyable(data, delim, self._width, n)
                yield CsvBlock(
                    data,
                    first,
                    n,
                    columns,
                    self.layout.delimiter,
                    self._parse,
                    safe,
                    safe and trimmed(data, delim),
                )

    def _parse(self, block: CsvBlock) -> list[Row]:
        """Canonical rows of a block parsed in Python (bad lines recorded)."""
        pick = self._pick
        return [
            (line, *pick(row))
            for line, row in parse_lines(
                block.data, block.first_line, self.layout.delimiter, self._width, self.bad_rows
            )
        ]


def json_value(value: Any) -> str | None:
    """A JSON scalar as exact text (numbers were parsed as strings); None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    raise ValueError("nested value")


def json_row(line: int, record: Any, columns: list[str]) -> Row:
    """Canonical row from one JSON object; raises ValueError when it is not a flat object."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    return (line, *(json_value(record.get(c)) for c in columns))


class JsonLinesExtract(SyncChunkExtract):
    """One JSON object per line, keys named by the source layout."""

    def __init__(self, entity: str, path: Path, lay: Layout) -> None:
        super().__init__(entity=entity, name=lay.file_name)
        self.path, self.layout = path, lay

    def _iter_chunks(self) -> Iterator[list[Row]]:
        cols = [self.layout.column_for(f) for f in ENTITIES[self.entity].field_names]
        cur = [0]
        chunk: list[Row] = []
        with self.path.open("rb") as fh:
            for text in decoded_lines(fh, 1, self.bad_rows, cur):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text, parse_float=str, parse_int=str)
                    chunk.append(json_row(cur[0], record, cols))
                except ValueError as exc:
                    self.bad_rows.append(BadRow(cur[0], f"invalid JSON record: {exc}", text[:300].rstrip()))
                    continue
                if len(chunk) >= CHUNK_ROWS:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk


class FileConnector:
    """Extract files of one source in one folder, named and shaped by the source's layouts."""

    def __init__(self, source: str, folder: Path) -> None:
        self.source, self.folder = source, Path(folder)

    def entities(self) -> list[str]:
        """Entity types whose extract file exists, in load order."""
        return [e for e in ENTITIES if (self.folder / layout(self.source, e).file_name).exists()]

    def open(self, entity: str) -> SyncChunkExtract:
        """The extract of one entity type."""
        lay = layout(self.source, entity)
        path = self.folder / lay.file_name
        if not path.exists():
            # The folder is the server's business: jobs and errors name files relative to it.
            raise ExtractError(f"{lay.file_name} not found in the {self.source} extract folder")
        if lay.fmt == "jsonl":
            return JsonLinesExtract(entity, path, lay)
        return CsvExtract(entity, path, lay)

    def redact(self, message: str) -> str:
        """``message`` with this folder's absolute path taken off the files it names."""
        forms = {str(self.folder.resolve()), str(self.folder.absolute())}
        for prefix in sorted(forms, key=len, reverse=True):  # a longer form may contain a shorter
            message = message.replace(prefix.rstrip("/") + "/", "")
        return message
