"""Mapped tables of the ``auth`` schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from caisse_shared.db import make_metadata
from caisse_shared.messaging.tables import messaging_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "auth"
TS = DateTime(timezone=True)


class Base(DeclarativeBase):
    """Declarative base bound to the auth schema."""

    metadata = make_metadata(SCHEMA)


messaging_tables(Base.metadata)


class User(Base):
    """A person who signs in (local password or LDAP/AD)."""

    __tablename__ = "user"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    full_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10), default="local")
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    institution_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agency_id: Mapped[str | None] = mapped_column(String(64))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(TS)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(TS)
    last_login_at: Mapped[datetime | None] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now(), onupdate=func.now())


class Permission(Base):
    """A permission of the suite's catalogue."""

    __tablename__ = "permission"
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str] = mapped_column(String(200), default="")


class Role(Base):
    """A named bundle of permissions (system roles are seeded and kept in sync)."""

    __tablename__ = "role"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class RolePermission(Base):
    """Permission granted by a role (a catalogue code, ``<domain>:*`` or ``*``)."""

    __tablename__ = "role_permission"
    role_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.role.id", ondelete="CASCADE"), primary_key=True
    )
    permission: Mapped[str] = mapped_column(String(100), primary_key=True)


class UserRole(Base):
    """A role held by a user; ``origin`` ldap roles are replaced at each directory sync."""

    __tablename__ = "user_role"
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.user.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.role.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    origin: Mapped[str] = mapped_column(String(10), default="manual")
    assigned_by: Mapped[str | None] = mapped_column(String(200))
    assigned_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class Session(Base):
    """A sign-in: one refresh-token family; revoking it ends every token it issued."""

    __tablename__ = "session"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.user.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(10), default="local")
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    last_used_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(TS)
    revoked_at: Mapped[datetime | None] = mapped_column(TS)
    revoked_reason: Mapped[str | None] = mapped_column(String(50))


class RefreshToken(Base):
    """A refresh token (hash only); ``used_at`` set once rotated — presenting it again is reuse."""

    __tablename__ = "refresh_token"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.session.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(TS)
    used_at: Mapped[datetime | None] = mapped_column(TS)


class RevokedToken(Base):
    """An access token revoked before expiry (token blacklist), kept until it expires."""

    __tablename__ = "revoked_token"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(TS, index=True)
    revoked_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class SigningKey(Base):
    """An RS256 key; the private half AES-GCM encrypted with the key-encryption secret."""

    __tablename__ = "signing_key"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    private_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    activated_at: Mapped[datetime] = mapped_column(TS)
    retired_at: Mapped[datetime | None] = mapped_column(TS)
    publish_until: Mapped[datetime | None] = mapped_column(TS)


class OAuthClient(Base):
    """A partner system or service using the client-credentials grant."""

    __tablename__ = "oauth_client"
    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(Text)
    permissions: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    institution_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class LoginThrottle(Base):
    """Counters keyed ``user:<name>`` (failures, lockout) or ``ip:<addr>`` (attempts)."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(TS)
    locked_until: Mapped[datetime | None] = mapped_column(TS)


class AuditLog(Base):
    """Every authentication and administration event: who, what, when, from where, result."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    action: Mapped[str] = mapped_column(String(50))
    result: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(150))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    target: Mapped[str | None] = mapped_column(String(200))
    institution_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(String(200))
    correlation_id: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)

    __table_args__ = (
        Index("ix_audit_log_occurred_at", "occurred_at"),
        Index("ix_audit_log_username_occurred_at", "username", "occurred_at"),
        Index("ix_audit_log_action_occurred_at", "action", "occurred_at"),
    )
