"""Builders of response models from rows."""

from __future__ import annotations

from collections.abc import Sequence

from caisse_shared.permissions import CATALOGUE
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.api.schemas import PermissionRead, RoleRead, UserRead
from caisse_auth.db.models import Role, User
from caisse_auth.db.repositories import UserRepository


def _user(user: User, roles: list[str]) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        email=user.email,
        full_name=user.full_name,
        status=user.status,
        source=user.source,
        institution_id=user.institution_id,
        agency_id=user.agency_id,
        roles=roles,
        locked_until=user.locked_until,
        must_change_password=user.must_change_password,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


async def user_read(session: AsyncSession, user: User) -> UserRead:
    """One user with role names."""
    roles = (await UserRepository(session).roles_of([user.id]))[user.id]
    return _user(user, [r.name for r in roles])


async def users_read(session: AsyncSession, users: Sequence[User]) -> list[UserRead]:
    """Many users with role names (one query for the roles)."""
    roles = await UserRepository(session).roles_of(u.id for u in users)
    return [_user(u, [r.name for r in roles[u.id]]) for u in users]


def role_read(role: Role, permissions: set[str]) -> RoleRead:
    """A role with sorted permissions."""
    return RoleRead(
        id=role.id,
        name=role.name,
        description=role.description,
        is_system=role.is_system,
        permissions=sorted(permissions),
    )


def permission_read(code: str) -> PermissionRead:
    """A permission code with its catalogue description (wildcards described)."""
    if code == "*":
        return PermissionRead(code=code, description="every permission of the suite")
    if code.endswith(":*"):
        return PermissionRead(code=code, description=f"every {code[:-2]} permission")
    return PermissionRead(code=code, description=CATALOGUE.get(code, ""))
