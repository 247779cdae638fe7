"""Outbox, inbox and idempotency tables, declared inside each service's own MetaData/schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID


def _existing(metadata: MetaData, name: str) -> Table | None:
    """The already-registered table: registration is idempotent and hot paths do not rebuild
    column objects."""
    return metadata.tables.get(f"{metadata.schema}.{name}" if metadata.schema else name)


def outbox_table(metadata: MetaData) -> Table:
    """Events written in the same transaction as the state change they announce."""
    if (table := _existing(metadata, "outbox")) is not None:
        return table
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("event_type", String(200), nullable=False),
        Column("schema_version", Integer, nullable=False),
        Column("topic", String(249), nullable=False),
        Column("key", Text, nullable=True),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),
        Index("ix_outbox_sent_at", "sent_at", postgresql_where=text("sent_at IS NOT NULL")),
    )


def inbox_table(metadata: MetaData) -> Table:
    """Event ids a consumer group has applied: a redelivery finds its id and does nothing."""
    if (table := _existing(metadata, "inbox")) is not None:
        return table
    return Table(
        "inbox",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("topic", String(249), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def idempotency_table(metadata: MetaData) -> Table:
    """Stored first responses of money-moving POSTs, keyed by scope and Idempotency-Key."""
    if (table := _existing(metadata, "idempotency_key")) is not None:
        return table
    return Table(
        "idempotency_key",
        metadata,
        Column("scope", String(300), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("response_body", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def messaging_tables(metadata: MetaData) -> list[Table]:
    """Register every platform table in a service's MetaData (call once from its models)."""
    return [outbox_table(metadata), inbox_table(metadata), idempotency_table(metadata)]
