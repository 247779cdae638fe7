"""Tables of the ``bank_sync`` schema.

Two groups inside the one schema (the seed's ``sync_entities`` / ``sync_metadata`` split):
- entity tables, named after the entity (customer, phone, address, email, loan, collateral,
  reference_customer): the synchronised data, keyed by natural key;
- sync bookkeeping tables, prefixed ``sync_`` (sync_job, sync_event, sync_error);
plus the platform's outbox / inbox / idempotency_key tables.
"""

from __future__ import annotations

from typing import Any

from caisse_shared.db import make_metadata
from caisse_shared.messaging.tables import messaging_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeEngine

from caisse_bank_sync.config import SCHEMA
from caisse_bank_sync.domain.entities import ENTITIES, EntitySpec, Field, Kind


class Base(DeclarativeBase):
    """Declarative base bound to the service schema."""

    metadata = make_metadata(SCHEMA)


messaging_tables(Base.metadata)


def sql_type(f: Field) -> TypeEngine[Any]:
    """Column type of a canonical field."""
    kinds: dict[Kind, TypeEngine[Any]] = {
        Kind.TEXT: String(f.max_len),
        Kind.CODE: String(32),
        Kind.INT: Integer(),
        Kind.MONEY: BigInteger(),
        Kind.DATE: Date(),
        Kind.BOOL: Boolean(),
    }
    return kinds[f.kind]


def _entity_table(spec: EntitySpec) -> Table:
    cols = [
        Column(
            f.name,
            sql_type(f),
            primary_key=f.name in spec.key,
            nullable=not (f.required or f.name in spec.key),
        )
        for f in spec.fields
    ]
    return Table(
        spec.name,
        Base.metadata,
        *cols,
        Column("source_system", String(16), nullable=False),
        Column("is_stale", Boolean, nullable=False, server_default=text("false")),
        Column("stale_since", DateTime(timezone=True)),
        Column("last_sync_job_id", UUID(as_uuid=True)),
        # md5 of the source row it was loaded from: an equal hash means "unchanged", unvalidated.
        Column("row_hash", LargeBinary),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


ENTITY_TABLES: dict[str, Table] = {name: _entity_table(s) for name, s in ENTITIES.items()}
customer_t = ENTITY_TABLES["customer"]
phone_t = ENTITY_TABLES["phone"]
address_t = ENTITY_TABLES["address"]
email_t = ENTITY_TABLES["email"]
loan_t = ENTITY_TABLES["loan"]
collateral_t = ENTITY_TABLES["collateral"]
reference_customer_t = ENTITY_TABLES["reference_customer"]

# Foreign-key and search indexes (natural keys are the primary keys).
Index(
    "ix_customer_full_name_lower",
    func.lower(customer_t.c.full_name).label("n"),
    postgresql_ops={"n": "text_pattern_ops"},
)
Index("ix_customer_id_number", customer_t.c.id_number)
Index("ix_phone_number", phone_t.c.number)
Index("ix_loan_cif", loan_t.c.cif)
Index("ix_loan_delinquent", loan_t.c.days_past_due, postgresql_where=loan_t.c.days_past_due > 0)
Index("ix_collateral_cif", collateral_t.c.cif)
Index("ix_collateral_account_number", collateral_t.c.account_number)
Index("ix_reference_customer_ref_cif", reference_customer_t.c.ref_cif)

sync_job_t = Table(
    "sync_job",
    Base.metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("source_system", String(16), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("entity_type", String(32)),
    Column("status", String(16), nullable=False),
    Column("trigger", String(16), nullable=False, server_default="API"),
    Column("requested_by", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("entities_processed", BigInteger, nullable=False, server_default="0"),
    Column("entities_created", BigInteger, nullable=False, server_default="0"),
    Column("entities_updated", BigInteger, nullable=False, server_default="0"),
    Column("entities_unchanged", BigInteger, nullable=False, server_default="0"),
    Column("entities_stale", BigInteger, nullable=False, server_default="0"),
    Column("errors", BigInteger, nullable=False, server_default="0"),
    Column("error_message", Text),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # One active sync per source: a second QUEUED/RUNNING job for the source cannot be inserted.
    Index(
        "uq_sync_job_active_source",
        "source_system",
        unique=True,
        postgresql_where=text("status IN ('QUEUED', 'RUNNING')"),
    ),
    Index("ix_sync_job_source_created", "source_system", "created_at"),
)

sync_event_t = Table(
    "sync_event",
    Base.metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("job_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("event_type", String(32), nullable=False),
    Column("entity_type", String(32)),
    Column("source_system", String(16), nullable=False),
    Column("affected_count", BigInteger, nullable=False, server_default="0"),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

sync_error_t = Table(
    "sync_error",
    Base.metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("job_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("source_system", String(16), nullable=False),
    Column("entity_type", String(32)),
    Column("kind", String(16), nullable=False),  # VALIDATION | INTEGRITY | FATAL
    Column("file", Text),
    Column("line", Integer),
    Column("natural_key", Text),
    Column("reason", Text, nullable=False),
    Column("raw", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
