"""Tables of the ``payments`` schema (plus outbox, inbox and idempotency keys)."""

from __future__ import annotations

from caisse_shared.db import make_metadata
from caisse_shared.messaging.tables import messaging_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase

from caisse_payments.config import SCHEMA


class Base(DeclarativeBase):
    """Declarative base bound to the payments schema."""

    metadata = make_metadata(SCHEMA)


md = Base.metadata
messaging_tables(md)


def _ts(name: str, nullable: bool = False, default: bool = False) -> Column[object]:
    return Column(
        name,
        DateTime(timezone=True),
        nullable=nullable,
        server_default=func.now() if default else None,
    )


payment = Table(
    "payment",
    md,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("reference_number", String(40), nullable=False, unique=True),
    Column("channel", String(20), nullable=False),
    Column("provider_reference", String(120), nullable=False),
    Column("transaction_type", String(40), nullable=False),
    Column("account_number", String(60)),
    Column("cif", String(60)),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),
    Column("allocated_penalties", BigInteger, nullable=False, server_default=text("0")),
    Column("allocated_interest", BigInteger, nullable=False, server_default=text("0")),
    Column("allocated_principal", BigInteger, nullable=False, server_default=text("0")),
    Column("unallocated_amount", BigInteger, nullable=False, server_default=text("0")),
    Column("needs_review", Boolean, nullable=False, server_default=text("false")),
    Column("review_reason", Text),
    Column("failure_reason", Text),
    Column("payer_phone", String(40)),
    _ts("paid_at", nullable=True),
    _ts("received_at", default=True),
    _ts("updated_at", default=True),
    Column("original_payment_id", UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.payment.id")),
    Column("institution_id", String(60)),
    Column("created_by", String(120)),
    Column("raw", JSONB),
    UniqueConstraint("channel", "provider_reference"),
    # Partial (migration 0003): only equality lookups use them, and NULLs never match.
    Index("ix_payment_account_number", "account_number", postgresql_where=text("account_number IS NOT NULL")),
    Index("ix_payment_cif", "cif", postgresql_where=text("cif IS NOT NULL")),
    Index("ix_payment_paid_at", "paid_at"),
    Index("ix_payment_review", "needs_review", postgresql_where=text("needs_review")),
    Index(
        "uq_payment_original_payment_id",
        "original_payment_id",
        unique=True,
        postgresql_where=text("original_payment_id IS NOT NULL"),
    ),
)

payment_allocation = Table(
    "payment_allocation",
    md,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "payment_id",
        UUID(as_uuid=True),
        ForeignKey(f"{SCHEMA}.payment.id"),
        nullable=False,
        index=True,
    ),
    Column("account_number", String(60), nullable=False),
    Column("component", String(20), nullable=False),
    Column("amount", BigInteger, nullable=False),
    _ts("created_at", default=True),
)

# No foreign key on payment_id (migration 0002): its check cost ~20% of the webhook intake's
# PostgreSQL time; history is written with ids of payments the same statement or transaction
# holds, and a trigger refuses any DELETE or TRUNCATE of payments.
payment_history = Table(
    "payment_history",
    md,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("payment_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("reason", Text),
    Column("actor", String(120)),
    _ts("at", default=True),
)

# A provider delivery that disagreed with the payment already stored under its reference
# (migration 0004): another amount, loan, customer, type or outcome. The payment stays exactly
# once and is flagged for review; the delivery is kept whole here for the operator.
payment_conflict = Table(
    "payment_conflict",
    md,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("payment_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("detail", Text, nullable=False),
    Column("delivery_id", String(64)),
    Column("raw", JSONB),
    _ts("received_at", default=True),
)

loan = Table(
    "loan",
    md,
    Column("account_number", String(60), primary_key=True),
    Column("cif", String(60), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("status", String(30), nullable=False),
    Column("outstanding_principal", BigInteger, nullable=False),
    Column("outstanding_interest", BigInteger, nullable=False),
    Column("outstanding_penalties", BigInteger, nullable=False),
    Column("institution_id", String(60)),
    Column("agency_id", String(60)),
    _ts("source_occurred_at"),
    _ts("updated_at", default=True),
)

webhook_delivery = Table(
    "webhook_delivery",
    md,
    Column("channel", String(20), primary_key=True),
    Column("delivery_id", String(64), primary_key=True),
    _ts("received_at", default=True),
    Index("ix_webhook_delivery_received_at", "received_at"),
)

reconciliation_job = Table(
    "reconciliation_job",
    md,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("statement_lines", Integer, nullable=False, server_default=text("0")),
    Column("internal_records", Integer, nullable=False, server_default=text("0")),
    Column("matched", Integer, nullable=False, server_default=text("0")),
    Column("issues", Integer, nullable=False, server_default=text("0")),
    Column("requested_by", String(120)),
    _ts("created_at", default=True),
)

statement_line = Table(
    "statement_line",
    md,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("channel", String(20), nullable=False),
    Column("provider_reference", String(120), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("value_date", Date, nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("import_id", UUID(as_uuid=True), nullable=False),
    _ts("imported_at", default=True),
    Index("ix_statement_line_channel_value_date", "channel", "value_date"),
)

reconciliation_issue = Table(
    "reconciliation_issue",
    md,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "job_id",
        UUID(as_uuid=True),
        ForeignKey(f"{SCHEMA}.reconciliation_job.id"),
        nullable=False,
        index=True,
    ),
    Column("kind", String(30), nullable=False),
    Column("provider_reference", String(120), nullable=False),
    Column("payment_id", UUID(as_uuid=True)),
    Column("internal_amount", BigInteger),
    Column("provider_amount", BigInteger),
    Column("detail", Text, nullable=False, server_default=""),
    Column("status", String(20), nullable=False, server_default="OPEN"),
    Column("resolution", String(40)),
    Column("resolution_note", Text),
    Column("resolved_by", String(120)),
    _ts("resolved_at", nullable=True),
    _ts("created_at", default=True),
    Index("ix_reconciliation_issue_status", "status"),
)
