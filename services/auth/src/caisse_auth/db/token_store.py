"""Queries on sessions, refresh tokens, revocations, throttling counters and signing keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.db.models import LoginThrottle, RefreshToken, RevokedToken, Session, SigningKey
from caisse_auth.domain.throttle import Counter


class SessionStore:
    """Sessions (refresh-token families) and access-token revocations."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: Session) -> Session:
        """Insert a session."""
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, session_id: uuid.UUID) -> Session | None:
        """A session by id."""
        return await self.session.get(Session, session_id)

    async def of_user(self, user_id: uuid.UUID, *, active_at: datetime | None) -> Sequence[Session]:
        """A user's sessions, newest first (only live ones when ``active_at`` is given)."""
        stmt = select(Session).where(Session.user_id == user_id).order_by(Session.created_at.desc())
        if active_at is not None:
            stmt = stmt.where(Session.revoked_at.is_(None), Session.expires_at > active_at)
        return (await self.session.execute(stmt)).scalars().all()

    async def revoke(self, session_ids: Sequence[uuid.UUID], now: datetime, reason: str) -> int:
        """Revoke live sessions; returns how many were live."""
        if not session_ids:
            return 0
        result = await self.session.execute(
            update(Session)
            .where(Session.id.in_(session_ids), Session.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def add_refresh(self, row: RefreshToken) -> None:
        """Insert a refresh token (hash)."""
        self.session.add(row)
        await self.session.flush()

    async def refresh_by_hash(self, token_hash: str) -> RefreshToken | None:
        """A refresh token row, locked so concurrent rotations serialize."""
        return (
            await self.session.execute(
                select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
            )
        ).scalar_one_or_none()

    async def revoke_jti(self, jti: str, expires_at: datetime) -> None:
        """Blacklist one access token until it expires."""
        await self.session.execute(
            insert(RevokedToken).values(jti=jti, expires_at=expires_at).on_conflict_do_nothing()
        )

    async def jti_revoked(self, jti: str) -> bool:
        """True if the access token was revoked."""
        return (await self.session.get(RevokedToken, jti)) is not None

    async def purge(self, now: datetime) -> None:
        """Drop revocations of tokens that have expired anyway."""
        await self.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))


class ThrottleStore:
    """Login throttling counters (``user:<name>``, ``ip:<addr>``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str, *, for_update: bool = False) -> Counter | None:
        """The counter for a key (locked for update when asked)."""
        stmt = select(LoginThrottle).where(LoginThrottle.key == key)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            return None
        return Counter(row.count, row.window_start, row.locked_until)

    async def put(self, key: str, counter: Counter) -> None:
        """Store a counter (insert or overwrite)."""
        values = {
            "count": counter.count,
            "window_start": counter.window_start,
            "locked_until": counter.locked_until,
        }
        stmt = insert(LoginThrottle).values(key=key, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=[LoginThrottle.key], set_=values)
        )

    async def clear(self, key: str) -> None:
        """Forget a counter (successful sign-in, admin unlock)."""
        await self.session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


class KeyStore:
    """Signing keys."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def published(self, now: datetime) -> Sequence[SigningKey]:
        """The active key and retired keys whose tokens may still be live, newest first."""
        return (
            (
                await self.session.execute(
                    select(SigningKey)
                    .where(or_(SigningKey.publish_until.is_(None), SigningKey.publish_until > now))
                    .order_by(SigningKey.activated_at.desc())
                )
            )
            .scalars()
            .all()
        )

    async def active(self, *, for_update: bool = False) -> SigningKey | None:
        """The key that signs new tokens."""
        stmt = (
            select(SigningKey)
            .where(SigningKey.retired_at.is_(None))
            .order_by(SigningKey.activated_at.desc())
            .limit(1)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, key: SigningKey) -> None:
        """Insert a key."""
        self.session.add(key)
        await self.session.flush()
