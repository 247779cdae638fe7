"""Sign-in: throttling, local or directory credentials, directory sync, session, audit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from caisse_shared.errors import AppError
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.db.models import User
from caisse_auth.db.repositories import RoleRepository, UserRepository
from caisse_auth.db.token_store import ThrottleStore
from caisse_auth.domain import throttle as TH
from caisse_auth.domain.context import Origin
from caisse_auth.domain.users import InvalidUsername, UserSource, UserStatus, normalise_username
from caisse_auth.errors import InvalidCredentials, LoginThrottled
from caisse_auth.services import audit
from caisse_auth.services.directory import DirectoryUnavailable, DirectoryUser
from caisse_auth.services.kit import AuthKit
from caisse_auth.services.sessions import TokenPair, open_session

log = logging.getLogger("caisse.auth.login")


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A successful sign-in."""

    user: User
    tokens: TokenPair
    provider: str


@dataclass(frozen=True, slots=True)
class _Check:
    user: User | None
    ok: bool
    provider: str
    reason: str = "invalid_credentials"


async def login(
    kit: AuthKit, session: AsyncSession, raw_username: str, password: str, origin: Origin, now: datetime
) -> LoginResult | AppError:
    """Authenticate; failures are recorded (not raised) so the transaction commits them."""
    throttle = ThrottleStore(session)
    ip_key = f"ip:{origin.ip or 'unknown'}"
    ip_counter = TH.after_attempt(await throttle.get(ip_key, for_update=True), now, kit.policy)
    await throttle.put(ip_key, ip_counter)
    try:
        username = normalise_username(raw_username)
    except InvalidUsername:
        username = raw_username.strip().lower()[:150]
    if TH.over_limit(ip_counter, kit.policy):
        await _failed(session, username, None, "rate_limited", "local", origin, now)
        return LoginThrottled(
            "too many sign-in attempts from this address",
            retry_after=TH.retry_after(ip_counter, now, kit.policy),
        )
    user_key = f"user:{username}"
    user_counter = await throttle.get(user_key, for_update=True)
    until = TH.locked(user_counter, now)
    if until is not None:
        await _failed(session, username, None, "locked", "local", origin, now)
        return LoginThrottled(
            "too many failed sign-ins; try again later",
            retry_after=max(1, int((until - now).total_seconds())),
        )
    check = await _check_credentials(kit, session, username, password, origin, now)
    if not check.ok or check.user is None:
        counter = TH.after_failure(user_counter, now, kit.policy)
        await throttle.put(user_key, counter)
        if check.user is not None:
            check.user.failed_logins, check.user.locked_until = counter.count, counter.locked_until
        await _failed(session, username, check.user, check.reason, check.provider, origin, now)
        return InvalidCredentials()
    await throttle.clear(user_key)
    return await _succeeded(kit, session, check.user, check.provider, origin, now)


async def _check_credentials(
    kit: AuthKit, session: AsyncSession, username: str, password: str, origin: Origin, now: datetime
) -> _Check:
    """Verify the password against the local hash or the directory."""
    user = await UserRepository(session).by_username(username, for_update=True)
    use_directory = kit.directory is not None and (user is None or user.source == UserSource.LDAP)
    if not use_directory:
        ok = kit.passwords.verify(user.password_hash if user else None, password)
        if ok and user is not None and user.password_hash and kit.passwords.needs_rehash(user.password_hash):
            user.password_hash = kit.passwords.rehash(password)  # cost parameters changed
        if ok and user is not None and user.status != UserStatus.ACTIVE:
            return _Check(user, False, "local", "inactive")
        return _Check(user, ok, "local")
    assert kit.directory is not None
    try:
        found = await kit.directory.authenticate(username, password)
    except DirectoryUnavailable as exc:
        log.warning("directory unavailable: %s", exc)
        return _Check(user, False, "ldap", "directory_error")
    if found is None:
        return _Check(user, False, "ldap")
    if user is not None and user.status != UserStatus.ACTIVE:
        return _Check(user, False, "ldap", "inactive")
    roles = kit.directory.roles_for(found)
    if not roles:
        return _Check(user, False, "ldap", "no_role_mapped")
    synced = await sync_directory_user(session, user, found, roles, origin, now)
    return _Check(synced, True, "ldap")


async def sync_directory_user(
    session: AsyncSession,
    user: User | None,
    found: DirectoryUser,
    role_names: set[str],
    origin: Origin,
    now: datetime,
) -> User:
    """Create or refresh the local copy of a directory user and its mapped roles."""
    users = UserRepository(session)
    created = user is None
    if user is None:
        user = await users.add(
            User(
                username=found.username,
                source=UserSource.LDAP,
                status=UserStatus.ACTIVE,
                email=found.email,
                full_name=found.full_name,
            )
        )
    else:
        user.email, user.full_name = found.email, found.full_name
    roles = await RoleRepository(session).by_names(role_names)
    await users.clear_origin(user.id, "ldap")
    for role in roles:
        await users.assign(user.id, role.id, origin="ldap", by="directory")
    names = sorted(r.name for r in roles)
    name = "UserCreated" if created else "UserUpdated"
    payload = _user_payload(user, names, now, created)
    await audit.record(
        session,
        audit.AuditEntry(
            "USER_CREATED" if created else "USER_UPDATED",
            "success",
            user.username,
            user.id,
            target=str(user.id),
            reason="directory_sync",
            details={"roles": names},
        ),
        origin.by("directory"),
        audit.auth_event(name, str(user.id), payload),
    )
    return user


def _user_payload(user: User, roles: list[str], now: datetime, created: bool) -> dict[str, object]:
    """Event payload of a directory-synced user."""
    base: dict[str, object] = {
        "user_id": str(user.id),
        "username": user.username,
        "status": user.status,
        "roles": roles,
        "institution_id": user.institution_id,
        "agency_id": user.agency_id,
    }
    if created:
        return {
            **base,
            "email": user.email,
            "full_name": user.full_name,
            "source": user.source,
            "created_by": "directory",
            "created_at": now,
        }
    return {**base, "changes": ["directory_sync"], "updated_by": "directory", "updated_at": now}


async def _failed(
    session: AsyncSession,
    username: str,
    user: User | None,
    reason: str,
    provider: str,
    origin: Origin,
    now: datetime,
) -> None:
    """Audit and announce a failed sign-in."""
    user_id = str(user.id) if user else None
    await audit.record(
        session,
        audit.AuditEntry(
            "LOGIN_FAILED",
            "failure",
            username,
            user.id if user else None,
            institution_id=user.institution_id if user else None,
            reason=reason,
            details={"provider": provider},
        ),
        origin,
        audit.auth_event(
            "LoginFailed",
            username or "-",
            {
                "user_id": user_id,
                "username": username,
                "status": "FAILED",
                "reason": reason,
                "provider": provider,
                "ip": origin.ip,
                "user_agent": origin.user_agent,
                "timestamp": now,
            },
        ),
    )


async def _succeeded(
    kit: AuthKit, session: AsyncSession, user: User, provider: str, origin: Origin, now: datetime
) -> LoginResult:
    """Reset counters, open the session, audit and announce."""
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    tokens = await open_session(kit, session, user, origin, provider, now)
    await audit.record(
        session,
        audit.AuditEntry(
            "LOGIN_SUCCESS",
            "success",
            user.username,
            user.id,
            institution_id=user.institution_id,
            details={"provider": provider, "session_id": str(tokens.session_id)},
        ),
        origin,
        audit.auth_event(
            "LoginSucceeded",
            str(user.id),
            {
                "user_id": str(user.id),
                "username": user.username,
                "status": "SUCCESS",
                "provider": provider,
                "session_id": str(tokens.session_id),
                "institution_id": user.institution_id,
                "ip": origin.ip,
                "user_agent": origin.user_agent,
                "timestamp": now,
            },
        ),
    )
    return LoginResult(user, tokens, provider)
