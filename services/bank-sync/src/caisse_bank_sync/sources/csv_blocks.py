"""Raw CSV blocks: whole lines the database can parse itself (COPY … CSV), Python as fallback.

Parsing 1M rows in Python and COPYing them as records costs several seconds of (GIL-bound)
client CPU; handing PostgreSQL the file's bytes costs almost nothing. A block goes that way
only when byte-level checks show Python's csv module and COPY would read it identically:
valid UTF-8, no quotes, no CR, no NUL, no backslash (``\\.`` ends a COPY) and the right
number of delimiters (an empty line, COPY refuses itself). Anything else — and any COPY
error — is parsed in Python, which quarantines bad lines exactly as before.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from caisse_bank_sync.sources.base import BadRow, Row

BLOCK_BYTES = 4 << 20
_UNSAFE = (b'"', b"\r", b"\x00", b"\\")


@dataclass
class CsvBlock:
    """Complete lines ``first_line``… of a CSV extract; iterating parses them in Python."""

    data: bytes
    first_line: int
    lines: int
    columns: tuple[str, ...]  # raw staging column receiving each file column, in file order
    delimiter: str
    parse: Callable[[CsvBlock], list[Row]] = field(repr=False)
    copyable: bool = True
    trimmed: bool = False  # no blank next to a delimiter or line end: COPY's values need no trim

    def __iter__(self) -> Iterator[Row]:
        return iter(self.parse(self))

    def __len__(self) -> int:
        return self.lines


def copyable(data: bytes, delimiter: bytes, width: int, lines: int) -> bool:
    """Whether COPY … CSV reads these ``lines`` lines exactly as the Python parser would.

    Each test is one C-speed pass over the block (the client CPU of a first load's feed).
    An empty line is not searched for (a two-byte search, 4 ms per 4 MB block): it holds no
    delimiter, so the count below fails unless another line has extra fields, which COPY
    refuses; Python then parses the block and skips it. Only a one-field file needs the search.
    """
    if not data.endswith(b"\n") or data[:1] == b"\n" or any(u in data for u in _UNSAFE):
        return False
    if width == 1 and b"\n\n" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    # Same total as lines * (width - 1) is only a pre-check; COPY rejects any uneven line.
    return data.count(delimiter) == lines * (width - 1)


def trimmed(data: bytes, delimiter: bytes) -> bool:
    """Whether no field of these (copyable) lines starts or ends with a blank.

    Unquoted, so COPY reads each field as written and an empty one as NULL: the staged values
    are then already normalised and need no trimming pass. Line ends are read as delimiters
    (both end a field): two searches instead of four, about 40% less client CPU per block;
    a block without any space (loans, codes and amounts) needs one search for a single byte.
    """
    if b" " not in data:
        return True
    ends = data.translate(bytes.maketrans(b"\n", delimiter))
    return not data.startswith(b" ") and b" " + delimiter not in ends and delimiter + b" " not in ends


def read_blocks(fh: IO[bytes], first_line: int) -> Iterator[tuple[bytes, int, int]]:
    """(data, first line number, line count) of whole lines; a final unterminated line alone."""
    line = first_line
    rest = b""
    while True:
        buf = fh.read(BLOCK_BYTES)
        if not buf:
            break
        buf = rest + buf
        cut = buf.rfind(b"\n") + 1
        rest = buf[cut:]
        if cut:
            n = buf.count(b"\n", 0, cut)
            yield buf[:cut], line, n
            line += n
    if rest:
        yield rest, line, 1


def parse_lines(
    data: bytes, first_line: int, delimiter: str, width: int, bad: list[BadRow]
) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of well-formed lines; encoding, width and truncation go to ``bad``."""
    cur = [first_line]
    # A binary stream splits on b"\n" only, as the file iterator does (not str.splitlines).
    reader = csv.reader(decoded_lines(io.BytesIO(data), first_line, bad, cur), delimiter=delimiter)
    for row in reader:
        if len(row) != width:
            if row:
                bad.append(
                    BadRow(cur[0], f"expected {width} fields, got {len(row)}", delimiter.join(row)[:300])
                )
            continue
        yield cur[0], row


def decoded_lines(
    lines: Iterable[bytes], first_line: int, bad: list[BadRow], cur: list[int]
) -> Iterator[str]:
    """UTF-8 lines (``cur[0]``: the current one's number); bad encoding and an unterminated
    last line are quarantined, not yielded."""
    lineno = first_line - 1
    for raw in lines:
        lineno += 1
        if not raw.endswith(b"\n"):
            bad.append(BadRow(lineno, "truncated last line (no end of line)", _show(raw)))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.append(BadRow(lineno, f"invalid UTF-8 at byte {exc.start}", _show(raw)))
            continue
        cur[0] = lineno
        yield text


def _show(raw: bytes) -> str:
    return raw[:300].decode("utf-8", errors="replace").rstrip("\r\n")
