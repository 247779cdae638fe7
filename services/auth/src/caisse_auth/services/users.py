"""User administration: create, update, (de)activate, unlock, roles, passwords."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caisse_shared.http.security import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.db.models import Role, User
from caisse_auth.db.repositories import RoleRepository, UserRepository
from caisse_auth.db.token_store import ThrottleStore
from caisse_auth.domain.context import Origin
from caisse_auth.domain.passwords import PasswordPolicyError
from caisse_auth.domain.roles import covers
from caisse_auth.domain.users import UserSource, UserStatus
from caisse_auth.errors import (
    DirectoryUser,
    PrivilegeEscalation,
    RoleNotFound,
    UsernameTaken,
    UserNotFound,
    WeakPassword,
    WrongPassword,
)
from caisse_auth.services import audit
from caisse_auth.services.identity import roles_and_permissions
from caisse_auth.services.kit import AuthKit
from caisse_auth.services.scope import assigned_institution, check_institution_change
from caisse_auth.services.sessions import end_all_sessions

_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class NewUser:
    """Fields of a user to create."""

    username: str
    password: str | None
    email: str | None = None
    full_name: str | None = None
    institution_id: str | None = None
    agency_id: str | None = None
    roles: tuple[str, ...] = ()
    must_change_password: bool = False


@dataclass(frozen=True, slots=True)
class UserChanges:
    """Fields to update (absent ones are left alone)."""

    values: dict[str, Any] = field(default_factory=dict)


async def visible_user(
    session: AsyncSession, actor: Principal, user_id: uuid.UUID, *, for_update: bool = False
) -> User:
    """The user if the actor's institution scope covers it, else 404."""
    user = await UserRepository(session).get(user_id, for_update=for_update)
    if user is None or not actor.can_see_institution(user.institution_id):
        raise UserNotFound(f"user {user_id} not found")
    return user


async def grantable_roles(session: AsyncSession, actor: Principal, names: tuple[str, ...]) -> list[Role]:
    """Roles by name that the actor may grant (it must hold every permission they carry)."""
    repo = RoleRepository(session)
    roles = list(await repo.by_names(names))
    missing = set(names) - {r.name for r in roles}
    if missing:
        raise RoleNotFound(f"unknown role(s): {', '.join(sorted(missing))}")
    perms = await repo.permissions_of(r.id for r in roles)
    for role in roles:
        if not covers(actor.permissions, frozenset(perms[role.id])):
            raise PrivilegeEscalation(
                f"cannot grant role {role.name!r}: it holds permissions you do not have"
            )
    return roles


async def _announce(
    session: AsyncSession, user: User, changes: list[str], origin: Origin, now: datetime
) -> None:
    """Audit and publish USER_UPDATED."""
    roles, _ = await roles_and_permissions(session, user)
    await audit.record(
        session,
        audit.AuditEntry(
            "USER_UPDATED",
            "success",
            user.username,
            user.id,
            target=str(user.id),
            institution_id=user.institution_id,
            details={"changes": changes},
        ),
        origin,
        audit.auth_event(
            "UserUpdated",
            str(user.id),
            {
                "user_id": str(user.id),
                "username": user.username,
                "changes": changes,
                "status": user.status,
                "roles": roles,
                "institution_id": user.institution_id,
                "agency_id": user.agency_id,
                "updated_by": origin.actor,
                "updated_at": now,
            },
        ),
    )


async def create_user(
    kit: AuthKit, session: AsyncSession, actor: Principal, new: NewUser, origin: Origin, now: datetime
) -> tuple[User, str | None]:
    """Create a local user; returns it and the generated password when none was given."""
    institution = assigned_institution(actor, new.institution_id)
    roles = await grantable_roles(session, actor, new.roles)
    users = UserRepository(session)
    if await users.by_username(new.username) is not None:
        raise UsernameTaken(f"username {new.username!r} is taken")
    generated = None if new.password else secrets.token_urlsafe(12) + "aA1!"
    try:
        hashed = kit.passwords.hash(new.password or generated or "")
    except PasswordPolicyError as exc:
        raise WeakPassword(str(exc)) from None
    user = await users.add(
        User(
            username=new.username,
            password_hash=hashed,
            email=new.email,
            full_name=new.full_name,
            institution_id=institution,
            agency_id=new.agency_id,
            source=UserSource.LOCAL,
            status=UserStatus.ACTIVE,
            must_change_password=new.must_change_password or bool(generated),
            password_changed_at=now,
        )
    )
    for role in roles:
        await users.assign(user.id, role.id, origin="manual", by=actor.subject)
    names = sorted(r.name for r in roles)
    await audit.record(
        session,
        audit.AuditEntry(
            "USER_CREATED",
            "success",
            user.username,
            user.id,
            target=str(user.id),
            institution_id=institution,
            details={"roles": names},
        ),
        origin,
        audit.auth_event(
            "UserCreated",
            str(user.id),
            {
                "user_id": str(user.id),
                "username": user.username,
                "email": user.email,
                "full_name": user.full_name,
                "status": user.status,
                "source": user.source,
                "roles": names,
                "institution_id": institution,
                "agency_id": user.agency_id,
                "created_by": origin.actor,
                "created_at": now,
            },
        ),
    )
    return user, generated


async def update_user(
    session: AsyncSession,
    actor: Principal,
    user_id: uuid.UUID,
    changes: UserChanges,
    origin: Origin,
    now: datetime,
) -> User:
    """Change profile fields (email, full name, institution, agency)."""
    user = await visible_user(session, actor, user_id, for_update=True)
    changed = [k for k, v in changes.values.items() if getattr(user, k) != v]
    if "institution_id" in changed:
        check_institution_change(actor, user.institution_id, changes.values["institution_id"])
    for key in changed:
        setattr(user, key, changes.values[key])
    if changed:
        await _announce(session, user, changed, origin, now)
    return user


async def set_status(
    session: AsyncSession, actor: Principal, user_id: uuid.UUID, status: str, origin: Origin, now: datetime
) -> User:
    """Activate or deactivate; deactivation ends every session at once."""
    user = await visible_user(session, actor, user_id, for_update=True)
    if user.status == status:
        return user
    user.status = status
    if status == UserStatus.INACTIVE:
        await end_all_sessions(session, user, "deactivated", origin, now)
    await _announce(session, user, ["status"], origin, now)
    return user


async def unlock(
    session: AsyncSession, actor: Principal, user_id: uuid.UUID, origin: Origin, now: datetime
) -> User:
    """Lift a lockout after failed sign-ins."""
    user = await visible_user(session, actor, user_id, for_update=True)
    user.failed_logins, user.locked_until = 0, None
    await ThrottleStore(session).clear(f"user:{user.username}")
    await _announce(session, user, ["unlocked"], origin, now)
    return user


async def assign_role(
    session: AsyncSession, actor: Principal, user_id: uuid.UUID, role_name: str, origin: Origin, now: datetime
) -> User:
    """Give a role the actor may grant (takes effect at the user's next token)."""
    user = await visible_user(session, actor, user_id, for_update=True)
    (role,) = await grantable_roles(session, actor, (role_name,))
    if await UserRepository(session).assign(user.id, role.id, origin="manual", by=actor.subject):
        await _announce(session, user, ["roles"], origin, now)
    return user


async def remove_role(
    session: AsyncSession, actor: Principal, user_id: uuid.UUID, role_name: str, origin: Origin, now: datetime
) -> User:
    """Take a role away (the actor must be able to grant it)."""
    user = await visible_user(session, actor, user_id, for_update=True)
    (role,) = await grantable_roles(session, actor, (role_name,))
    if not await UserRepository(session).unassign(user.id, role.id):
        raise RoleNotFound(f"user does not have role {role_name!r}")
    await _announce(session, user, ["roles"], origin, now)
    return user


async def _set_password(
    kit: AuthKit,
    session: AsyncSession,
    user: User,
    password: str,
    must_change: bool,
    origin: Origin,
    now: datetime,
) -> None:
    if user.source != UserSource.LOCAL:
        raise DirectoryUser("the password of a directory user is managed in the directory")
    try:
        user.password_hash = kit.passwords.hash(password)
    except PasswordPolicyError as exc:
        raise WeakPassword(str(exc)) from None
    user.password_changed_at, user.must_change_password = now, must_change
    await end_all_sessions(session, user, "password_changed", origin, now)
    await _announce(session, user, ["password"], origin, now)


async def change_password(
    kit: AuthKit,
    session: AsyncSession,
    actor: Principal,
    current: str,
    new: str,
    origin: Origin,
    now: datetime,
) -> None:
    """The signed-in user changes their own password; every session ends."""
    try:
        user = await UserRepository(session).get(uuid.UUID(actor.subject), for_update=True)
    except ValueError:
        user = None
    if user is None or not kit.passwords.verify(user.password_hash, current):
        raise WrongPassword("current password is wrong")
    await _set_password(kit, session, user, new, False, origin, now)


async def reset_password(
    kit: AuthKit,
    session: AsyncSession,
    actor: Principal,
    user_id: uuid.UUID,
    new: str | None,
    origin: Origin,
    now: datetime,
) -> str | None:
    """An administrator sets a new password (generated if absent; must be changed at sign-in)."""
    user = await visible_user(session, actor, user_id, for_update=True)
    generated = None if new else secrets.token_urlsafe(12) + "aA1!"
    await _set_password(kit, session, user, new or generated or "", True, origin, now)
    return generated
