"""What a user may do: roles and the union of their permissions."""

from __future__ import annotations

from caisse_shared.http.security import PASSWORD_CHANGE_CLAIM
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.db.models import User
from caisse_auth.db.repositories import RoleRepository, UserRepository
from caisse_auth.domain.tokens import Identity


async def roles_and_permissions(session: AsyncSession, user: User) -> tuple[list[str], set[str]]:
    """Role names and granted permissions of a user."""
    roles = (await UserRepository(session).roles_of([user.id]))[user.id]
    perms_by_role = await RoleRepository(session).permissions_of(r.id for r in roles)
    perms: set[str] = set()
    for granted in perms_by_role.values():
        perms |= granted
    return [r.name for r in roles], perms


async def identity_of(session: AsyncSession, user: User, session_id: str | None) -> Identity:
    """The token identity of a user for one session (restricted while a password change is due)."""
    # Other services verify tokens locally, so the restriction travels in the token: no roles or
    # permissions, and the claim the shared require() refuses (change password and logout only).
    restricted = user.must_change_password
    roles, perms = ([], set()) if restricted else await roles_and_permissions(session, user)
    return Identity(
        subject=str(user.id),
        permissions=frozenset(perms),
        roles=tuple(roles),
        username=user.username,
        institution_id=user.institution_id,
        agency_id=user.agency_id,
        session_id=session_id,
        extra={PASSWORD_CHANGE_CLAIM: True} if restricted else {},
    )
