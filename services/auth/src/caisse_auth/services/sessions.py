"""Sessions and tokens: open, refresh (rotation with reuse detection), logout, validate, revoke."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from caisse_shared.errors import AppError, Unauthorized
from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.db.models import OAuthClient, RefreshToken, RevokedToken, User
from caisse_auth.db.models import Session as SessionRow
from caisse_auth.db.repositories import UserRepository
from caisse_auth.db.token_store import SessionStore
from caisse_auth.domain import tokens as T
from caisse_auth.domain.context import Origin
from caisse_auth.errors import InvalidRefreshToken, SessionNotFound
from caisse_auth.services import audit
from caisse_auth.services.identity import identity_of
from caisse_auth.services.kit import AuthKit


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a sign-in or a refresh returns (the refresh token is shown only here)."""

    access_token: str
    expires_in: int
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    session_id: uuid.UUID


async def _issue(
    kit: AuthKit, session: AsyncSession, user: User, row: SessionRow, now: datetime
) -> TokenPair:
    """A new access token and a new refresh token in an existing session."""
    identity = await identity_of(session, user, str(row.id))
    ttl = kit.settings.access_token_ttl_s
    claims = T.access_claims(
        identity, issuer=kit.settings.jwt_issuer, audience=kit.settings.jwt_audience, now=now, ttl_s=ttl
    )
    refresh = T.new_refresh_token()
    await SessionStore(session).add_refresh(
        RefreshToken(session_id=row.id, token_hash=T.token_hash(refresh), expires_at=row.expires_at)
    )
    return TokenPair(
        await kit.ring.sign(claims), ttl, now + timedelta(seconds=ttl), refresh, row.expires_at, row.id
    )


async def open_session(
    kit: AuthKit, session: AsyncSession, user: User, origin: Origin, provider: str, now: datetime
) -> TokenPair:
    """Start a session (a new refresh-token family) for a signed-in user."""
    row = await SessionStore(session).add(
        SessionRow(
            user_id=user.id,
            provider=provider,
            ip=origin.ip,
            user_agent=origin.user_agent,
            expires_at=now + timedelta(seconds=kit.settings.refresh_token_ttl_s),
            created_at=now,
            last_used_at=now,
        )
    )
    return await _issue(kit, session, user, row, now)


async def refresh(
    kit: AuthKit, session: AsyncSession, token: str, origin: Origin, now: datetime
) -> TokenPair | AppError:
    """Rotate a refresh token; a reused one revokes its whole family (returned, not raised)."""
    store = SessionStore(session)
    row = await store.refresh_by_hash(T.token_hash(token))
    if row is None:
        return InvalidRefreshToken("unknown refresh token")
    family = await store.get(row.session_id)
    user = await UserRepository(session).get(family.user_id) if family else None
    if family is None or user is None:
        return InvalidRefreshToken("unknown refresh token")
    if row.used_at is not None:
        if family.revoked_at is None:
            await end_sessions(session, user, [family.id], "refresh_token_reuse", origin, now)
        return InvalidRefreshToken("refresh token already used: session revoked")
    if family.revoked_at is not None or family.expires_at <= now or user.status != "active":
        return InvalidRefreshToken("session ended")
    row.used_at = now
    family.last_used_at = now
    return await _issue(kit, session, user, family, now)


async def end_sessions(
    session: AsyncSession,
    user: User,
    session_ids: list[uuid.UUID],
    reason: str,
    origin: Origin,
    now: datetime,
) -> int:
    """Revoke sessions of a user; audited and announced as LOGOUT."""
    count = await SessionStore(session).revoke(session_ids, now, reason)
    if count == 0:
        return 0
    ids = [str(i) for i in session_ids]
    await audit.record(
        session,
        audit.AuditEntry(
            "LOGOUT",
            "success",
            user.username,
            user.id,
            target=str(user.id),
            institution_id=user.institution_id,
            reason=reason,
            details={"session_ids": ids},
        ),
        origin,
        audit.auth_event(
            "LoggedOut",
            str(user.id),
            {
                "user_id": str(user.id),
                "username": user.username,
                "session_ids": ids,
                "reason": reason,
                "by": origin.actor,
                "timestamp": now,
            },
        ),
    )
    return count


async def end_all_sessions(
    session: AsyncSession, user: User, reason: str, origin: Origin, now: datetime
) -> int:
    """Revoke every live session of a user (password change, deactivation)."""
    live = await SessionStore(session).of_user(user.id, active_at=now)
    return await end_sessions(session, user, [s.id for s in live], reason, origin, now)


async def logout(
    kit: AuthKit, session: AsyncSession, claims: dict[str, Any], origin: Origin, now: datetime
) -> None:
    """End the session of a verified access token and blacklist the token itself."""
    exp = datetime.fromtimestamp(int(claims["exp"]), UTC)
    await SessionStore(session).revoke_jti(str(claims.get("jti")), exp)
    sid = claims.get("sid")
    user = await UserRepository(session).get(uuid.UUID(str(claims["sub"]))) if sid else None
    if sid and user is not None:
        await end_sessions(
            session, user, [uuid.UUID(str(sid))], "logout", origin.by(str(user.id), user.institution_id), now
        )


async def is_revoked(session: AsyncSession, claims: dict[str, Any], now: datetime) -> bool:
    """True if the token, its session, its user or its client was revoked or disabled."""
    checks: list[ColumnElement[bool]] = [exists().where(RevokedToken.jti == str(claims.get("jti")))]
    sid, client_id = claims.get("sid"), claims.get("client_id")
    if sid:
        try:
            sid_uuid = uuid.UUID(str(sid))
        except ValueError:
            return True
        checks.append(
            exists().where(
                SessionRow.id == sid_uuid,
                (SessionRow.revoked_at.is_not(None)) | (SessionRow.expires_at <= now),
            )
        )
        checks.append(
            exists().where(User.id == SessionRow.user_id, SessionRow.id == sid_uuid, User.status != "active")
        )
    elif client_id:
        checks.append(~exists().where(OAuthClient.client_id == str(client_id), OAuthClient.active.is_(True)))
    else:
        return True  # neither a user session nor a client: not a token we issued
    row = (await session.execute(select(*[c.label(f"c{i}") for i, c in enumerate(checks)]))).one()
    return any(row)


async def validate(
    kit: AuthKit, session: AsyncSession, token: str, now: datetime
) -> tuple[dict[str, Any] | None, str | None]:
    """(claims, None) for a valid unrevoked token, else (None, reason)."""
    try:
        claims = await kit.verifier.verify(token)
    except Unauthorized as exc:
        return None, exc.detail
    if await is_revoked(session, claims, now):
        return None, "token revoked"
    return claims, None


async def list_sessions(
    session: AsyncSession, user: User, now: datetime, include_ended: bool
) -> list[SessionRow]:
    """A user's sessions (live only unless asked)."""
    return list(await SessionStore(session).of_user(user.id, active_at=None if include_ended else now))


async def revoke_session(
    session: AsyncSession, user: User, session_id: uuid.UUID, origin: Origin, now: datetime
) -> int:
    """Revoke one session of a user (404 if it is not theirs)."""
    row = await SessionStore(session).get(session_id)
    if row is None or row.user_id != user.id:
        raise SessionNotFound(f"session {session_id} not found")
    return await end_sessions(session, user, [row.id], "revoked", origin, now)
