"""Request and response bodies, named by direction (XxxCreate / XxxRead)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from caisse_payments.domain.model import Channel, TransactionType

Currency = Field(pattern=r"^[A-Z]{3}$", examples=["XOF"])
Amount = Field(gt=0, le=10**15, strict=True, description="Minor units (XOF/XAF: whole francs)")


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PaymentCreate(BaseModel):
    """A payment recorded by an operator or a partner system."""

    model_config = ConfigDict(extra="forbid")
    channel: Channel = Channel.BRANCH
    provider_reference: str = Field(min_length=1, max_length=120)
    account_number: str | None = Field(default=None, max_length=60)
    cif: str | None = Field(default=None, max_length=60)
    amount: int = Amount
    currency: str = Currency
    transaction_type: TransactionType = TransactionType.REMBOURSEMENT_PRET
    paid_at: AwareDatetime | None = None
    payer_phone: str | None = Field(default=None, max_length=40)


class AllocationRead(_Read):
    """One allocation line (negative on a reversal)."""

    account_number: str
    component: str
    amount: int


class HistoryRead(_Read):
    """One state change."""

    from_status: str | None
    to_status: str
    reason: str | None
    actor: str | None
    at: datetime


class PaymentRead(_Read):
    """A payment."""

    id: uuid.UUID
    reference_number: str
    channel: str
    provider_reference: str
    transaction_type: str
    account_number: str | None
    cif: str | None
    amount: int
    currency: str
    status: str
    allocated_penalties: int
    allocated_interest: int
    allocated_principal: int
    unallocated_amount: int
    needs_review: bool
    review_reason: str | None
    failure_reason: str | None
    payer_phone: str | None
    paid_at: datetime | None
    received_at: datetime
    original_payment_id: uuid.UUID | None


class ConflictRead(_Read):
    """A provider delivery that disagreed with the payment (kept whole; the payment flagged)."""

    kind: str
    detail: str
    channel: str
    delivery_id: str | None
    raw: dict[str, Any] | None
    received_at: datetime


class PaymentDetailRead(PaymentRead):
    """A payment with allocations, history and the deliveries that disagreed with it."""

    allocations: list[AllocationRead]
    history: list[HistoryRead]
    conflicts: list[ConflictRead]


class SuspenseAllocationCreate(BaseModel):
    """The loan an operator identified for a payment in suspense."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    account_number: str = Field(alias="accountNumber", min_length=1, max_length=60)


class ReversalCreate(BaseModel):
    """Why a payment is taken back."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500)


class ReconciliationCreate(BaseModel):
    """Run reconciliation for a date range (statement CSV optional if imported before)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start_date: date = Field(alias="startDate")
    end_date: date = Field(alias="endDate")
    channel: Channel = Channel.KKIAPAY
    statement_csv: str | None = Field(default=None, alias="statementCsv", max_length=900_000)


class IssueRead(_Read):
    """A reconciliation discrepancy."""

    id: uuid.UUID
    job_id: uuid.UUID
    kind: str
    provider_reference: str
    payment_id: uuid.UUID | None
    internal_amount: int | None
    provider_amount: int | None
    detail: str
    status: str
    resolution: str | None
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: datetime | None


class ReconciliationJobRead(_Read):
    """A reconciliation run."""

    id: uuid.UUID
    channel: str
    start_date: date
    end_date: date
    trigger: str
    status: str
    statement_lines: int
    internal_records: int
    matched: int
    issues: int
    created_at: datetime


class ReconciliationReportRead(BaseModel):
    """ReconciliationReport: the job and its discrepancies."""

    job: ReconciliationJobRead
    discrepancies: list[IssueRead]


class IssueResolveCreate(BaseModel):
    """An operator's resolution of an issue."""

    model_config = ConfigDict(extra="forbid")
    resolution: Literal["ACCEPTED", "CORRECTED", "REFUNDED", "WRITTEN_OFF", "FALSE_POSITIVE"]
    note: str | None = Field(default=None, max_length=1000)


class StatementImportRead(BaseModel):
    """Lines stored from a statement."""

    channel: str
    lines: int


class InitiateCreate(BaseModel):
    """Ask the aggregator to collect money from a phone (tontine platform)."""

    model_config = ConfigDict(extra="forbid")
    amount: int = Amount
    currency: str = Currency
    phone: str = Field(pattern=r"^\+?[0-9]{8,15}$")
    transaction_type: TransactionType
    account_number: str | None = Field(default=None, max_length=60)
    description: str = Field(default="Caisse payment", max_length=200)


class CheckStatusCreate(BaseModel):
    """Which payment to refresh from the aggregator."""

    model_config = ConfigDict(extra="forbid")
    reference_number: str = Field(min_length=1, max_length=40)


class SandboxTestCreate(BaseModel):
    """Force a sandbox outcome for a pending payment (sandbox provider only)."""

    model_config = ConfigDict(extra="forbid")
    reference_number: str = Field(min_length=1, max_length=40)
    outcome: Literal["SUCCESS", "FAILED"] = "SUCCESS"


class ReceiptRead(BaseModel):
    """PaymentReceipt (JSON form)."""

    reference_number: str
    channel: str
    provider_reference: str
    transaction_type: str
    account_number: str | None
    cif: str | None
    amount: int
    currency: str
    allocated_penalties: int
    allocated_interest: int
    allocated_principal: int
    unallocated_amount: int
    status: str
    paid_at: datetime | None
    issued_at: datetime
    verification_code: str


class ReceiptVerificationRead(BaseModel):
    """Whether a receipt's verification code is genuine."""

    reference_number: str
    valid: bool


def now_utc() -> datetime:
    """Aware now (default paid_at)."""
    return datetime.now(UTC)


def payment_read(row: Any) -> PaymentRead:
    """Row -> PaymentRead (from its mapping when it has one: faster than reading attributes)."""
    mapping = getattr(row, "_mapping", None)
    return PaymentRead.model_validate(row if mapping is None else mapping)
