"""HTTP schemas (camelCase on the wire, as in the source's API table)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from caisse_bank_sync.domain.entities import SourceSystem, SyncMode

T = TypeVar("T")


class ApiModel(BaseModel):
    """camelCase aliases; accepts snake_case too."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class SyncRunCreate(ApiModel):
    """``POST /api/sync/run`` body: ``{source, entityType?, mode?}``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    source: SourceSystem
    entity_type: str | None = Field(default=None, max_length=32)
    mode: SyncMode = SyncMode.FULL


class SyncJobRead(ApiModel):
    """A sync job and its counts (``SyncResult``); poll it until COMPLETED or FAILED."""

    id: uuid.UUID
    source_system: str
    mode: str
    entity_type: str | None
    status: str
    trigger: str
    requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    entities_processed: int
    entities_created: int
    entities_updated: int
    entities_unchanged: int
    entities_stale: int
    errors: int
    error_message: str | None
    details: dict[str, Any]


class SyncStatusRead(ApiModel):
    """``SyncStatus``: one source and its latest job."""

    source_system: str
    last_job: SyncJobRead | None


class SyncErrorRead(ApiModel):
    """A quarantined row or a referential-integrity error."""

    id: int
    entity_type: str | None
    kind: str
    file: str | None
    line: int | None
    natural_key: str | None
    reason: str
    raw: str | None


class Synced(ApiModel):
    """Bookkeeping columns every synchronised entity carries."""

    source_system: str
    is_stale: bool
    stale_since: datetime | None
    updated_at: datetime


class PhoneRead(Synced):
    """A customer phone."""

    phone_type: str
    number: str
    is_primary: bool | None


class AddressRead(Synced):
    """A customer address."""

    address_type: str
    line1: str | None
    city: str | None
    region: str | None
    country: str | None


class EmailRead(Synced):
    """A customer e-mail."""

    email_type: str
    address: str


class ReferenceCustomerRead(Synced):
    """A guarantor or related party of the customer."""

    ref_cif: str
    relationship_type: str | None
    full_name: str | None
    phone: str | None


class CustomerSummaryRead(Synced):
    """A customer in search results."""

    cif: str
    customer_type: str | None
    full_name: str
    date_of_birth: date | None
    id_number: str | None
    segment: str | None
    status: str | None
    institution_id: str | None
    agency_id: str | None


class CustomerRead(CustomerSummaryRead):
    """``Customer`` with its contact points and reference customers."""

    phones: list[PhoneRead]
    addresses: list[AddressRead]
    emails: list[EmailRead]
    references: list[ReferenceCustomerRead]


class CollateralRead(Synced):
    """``Collateral``; money in minor units of ``currency``."""

    collateral_number: str
    cif: str
    account_number: str | None
    collateral_type: str | None
    description: str | None
    currency: str
    value: int | None


class LoanRead(Synced):
    """``Loan``; amounts in minor units of ``currency``."""

    account_number: str
    cif: str
    product_code: str | None
    currency: str
    status: str
    original_amount: int
    outstanding_principal: int
    outstanding_interest: int | None
    outstanding_penalties: int | None
    overdue_amount: int | None
    days_past_due: int | None
    delinquency_bucket: str = "CURRENT"
    disbursement_date: date | None
    maturity_date: date | None
    next_payment_date: date | None
    institution_id: str | None
    agency_id: str | None


class LoanDetailRead(LoanRead):
    """A loan with its collaterals."""

    collaterals: list[CollateralRead]


class PageRead(ApiModel, Generic[T]):
    """A page of results."""

    items: list[T]
    total: int
    limit: int
    offset: int
