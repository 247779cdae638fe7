"""Reconciliation engine: parse a provider statement and compare it with our payments."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from caisse_payments.domain.identifiers import MAX_LENGTH
from caisse_payments.domain.model import InvalidNotification, is_currency


class IssueKind(StrEnum):
    """Kinds of discrepancies."""

    MISSING_INTERNAL = "MISSING_INTERNAL"  # provider has it, we do not
    MISSING_PROVIDER = "MISSING_PROVIDER"  # we have it, provider does not
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    DATE_MISMATCH = "DATE_MISMATCH"
    DUPLICATE = "DUPLICATE"  # a reference more than once on the statement


class StatementInvalid(InvalidNotification):
    """The provider statement cannot be parsed."""

    title, code = "Invalid provider statement", "statement_invalid"


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line of a provider statement."""

    provider_reference: str
    amount: int
    currency: str
    value_date: date
    line_no: int


@dataclass(frozen=True, slots=True)
class InternalRecord:
    """One of our received payments, as the engine sees it."""

    provider_reference: str
    amount: int
    currency: str
    value_date: date
    payment_id: str
    reference_number: str


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A difference to store as a reconciliation issue."""

    kind: IssueKind
    provider_reference: str
    payment_id: str | None = None
    internal_amount: int | None = None
    provider_amount: int | None = None
    detail: str = ""


@dataclass(slots=True)
class Report:
    """Result of one reconciliation run."""

    matched: int = 0
    statement_lines: int = 0
    internal_records: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)


REQUIRED_COLUMNS = ("provider_reference", "amount", "currency", "date")


def _parse_date(value: str, line_no: int) -> date:
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC).date()
    except ValueError:
        raise StatementInvalid(f"line {line_no}: invalid date {value!r}") from None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_statement(text: str, max_lines: int = 200_000) -> list[StatementLine]:
    """CSV with header ``provider_reference,amount,currency,date`` (amount in minor units)."""
    if "\x00" in text or (not text.isascii() and not _encodable(text)):
        raise StatementInvalid("statement contains NUL or an unpaired surrogate")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise StatementInvalid(f"statement lacks columns: {', '.join(missing)}")
    lines: list[StatementLine] = []
    for n, row in enumerate(reader, start=2):
        if n > max_lines:
            raise StatementInvalid(f"statement longer than {max_lines} lines")
        ref = (row["provider_reference"] or "").strip()
        amount, currency = (row["amount"] or "").strip(), (row["currency"] or "").strip().upper()
        if not ref or not (amount.isascii() and amount.isdigit()) or not is_currency(currency):
            raise StatementInvalid(f"line {n}: reference, integer amount and currency required")
        if len(ref) > MAX_LENGTH["provider_reference"]:  # never cut: the line could match another
            raise StatementInvalid(
                f"line {n}: provider reference longer than {MAX_LENGTH['provider_reference']} characters"
            )
        if len(amount) > 16:
            raise StatementInvalid(f"line {n}: amount out of range")
        lines.append(
            StatementLine(ref, int(amount), currency, _parse_date((row["date"] or "").strip(), n), n)
        )
    return lines


def reconcile(
    statement: list[StatementLine], internal: list[InternalRecord], *, date_tolerance_days: int = 1
) -> Report:
    """Match by reference, then compare amount/currency and date; report every difference."""
    report = Report(statement_lines=len(statement), internal_records=len(internal))
    by_ref: dict[str, list[StatementLine]] = defaultdict(list)
    for line in statement:
        by_ref[line.provider_reference].append(line)
    ours = {r.provider_reference: r for r in internal}
    for ref, count in Counter(line.provider_reference for line in statement).items():
        if count > 1:
            report.discrepancies.append(
                Discrepancy(
                    IssueKind.DUPLICATE,
                    ref,
                    detail=f"{count} statement lines",
                    payment_id=ours[ref].payment_id if ref in ours else None,
                )
            )
    for ref, lines in by_ref.items():
        line, record = lines[0], ours.get(ref)
        if record is None:
            report.discrepancies.append(
                Discrepancy(
                    IssueKind.MISSING_INTERNAL,
                    ref,
                    provider_amount=line.amount,
                    detail=f"on statement line {line.line_no}, not in payments",
                )
            )
            continue
        report.discrepancies.extend(_compare(line, record, date_tolerance_days))
        if not _compare(line, record, date_tolerance_days):
            report.matched += 1
    for ref, record in ours.items():
        if ref not in by_ref:
            report.discrepancies.append(
                Discrepancy(
                    IssueKind.MISSING_PROVIDER,
                    ref,
                    payment_id=record.payment_id,
                    internal_amount=record.amount,
                    detail="in payments, not on the statement",
                )
            )
    return report


def _compare(line: StatementLine, record: InternalRecord, tolerance: int) -> list[Discrepancy]:
    out: list[Discrepancy] = []
    if line.amount != record.amount or line.currency != record.currency:
        out.append(
            Discrepancy(
                IssueKind.AMOUNT_MISMATCH,
                line.provider_reference,
                payment_id=record.payment_id,
                internal_amount=record.amount,
                provider_amount=line.amount,
                detail=f"ours {record.amount} {record.currency}, provider {line.amount} {line.currency}",
            )
        )
    if abs((line.value_date - record.value_date).days) > tolerance:
        out.append(
            Discrepancy(
                IssueKind.DATE_MISMATCH,
                line.provider_reference,
                payment_id=record.payment_id,
                detail=f"ours {record.value_date}, provider {line.value_date}",
            )
        )
    return out
