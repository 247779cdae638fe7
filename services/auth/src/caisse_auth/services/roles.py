"""Roles and permissions: catalogue sync, listing, custom roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from caisse_shared.errors import Conflict
from caisse_shared.http.security import Principal
from caisse_shared.permissions import CATALOGUE
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.db.models import Role
from caisse_auth.db.repositories import RoleRepository
from caisse_auth.domain.context import Origin
from caisse_auth.domain.roles import SYSTEM_ROLES, covers, valid_permission
from caisse_auth.errors import (
    InvalidPermission,
    PrivilegeEscalation,
    RoleNotFound,
    SystemRoleImmutable,
)
from caisse_auth.services import audit


async def sync_catalogue(session: AsyncSession) -> None:
    """Upsert the permission catalogue and make system roles match their definition."""
    repo = RoleRepository(session)
    await repo.upsert_catalogue(CATALOGUE)
    for spec in SYSTEM_ROLES:
        role = await repo.by_name(spec.name)
        if role is None:
            role = await repo.add(Role(name=spec.name, description=spec.description, is_system=True))
        role.description, role.is_system = spec.description, True
        await repo.set_permissions(role.id, spec.permissions)


async def find_role(session: AsyncSession, ref: str) -> Role:
    """A role by id (UUID) or by name."""
    repo = RoleRepository(session)
    role: Role | None
    try:
        role = await repo.get(uuid.UUID(ref))
    except ValueError:
        role = await repo.by_name(ref)
    if role is None:
        raise RoleNotFound(f"role {ref!r} not found")
    return role


async def roles_with_permissions(session: AsyncSession) -> list[tuple[Role, set[str]]]:
    """Every role and its permissions."""
    repo = RoleRepository(session)
    roles = list(await repo.all())
    perms = await repo.permissions_of(r.id for r in roles)
    return [(r, perms[r.id]) for r in roles]


async def permissions_of(session: AsyncSession, ref: str) -> tuple[Role, set[str]]:
    """A role and its permissions."""
    role = await find_role(session, ref)
    return role, (await RoleRepository(session).permissions_of([role.id]))[role.id]


def _check_grantable(actor: Principal, permissions: Iterable[str]) -> frozenset[str]:
    perms = frozenset(permissions)
    bad = [p for p in perms if not valid_permission(p, frozenset(CATALOGUE))]
    if bad:
        raise InvalidPermission(f"not in the permission catalogue: {', '.join(sorted(bad))}")
    if not covers(actor.permissions, perms):
        raise PrivilegeEscalation("a role cannot carry permissions you do not hold")
    return perms


async def create_role(
    session: AsyncSession,
    actor: Principal,
    name: str,
    description: str,
    permissions: Iterable[str],
    origin: Origin,
    now: datetime,
) -> Role:
    """A custom role bundling catalogue permissions."""
    perms = _check_grantable(actor, permissions)
    repo = RoleRepository(session)
    if await repo.by_name(name) is not None:
        raise Conflict(f"role {name!r} exists")
    role = await repo.add(Role(name=name, description=description, is_system=False))
    await repo.set_permissions(role.id, perms)
    await audit.record(
        session,
        audit.AuditEntry(
            "ROLE_CREATED",
            "success",
            target=f"role:{name}",
            institution_id=actor.institution_id,
            details={"permissions": sorted(perms)},
        ),
        origin,
    )
    return role


async def set_role_permissions(
    session: AsyncSession, actor: Principal, ref: str, permissions: Iterable[str], origin: Origin
) -> tuple[Role, set[str]]:
    """Replace the permissions of a custom role."""
    role = await find_role(session, ref)
    if role.is_system:
        raise SystemRoleImmutable(f"role {role.name!r} is a system role")
    perms = _check_grantable(actor, permissions)
    await RoleRepository(session).set_permissions(role.id, perms)
    await audit.record(
        session,
        audit.AuditEntry(
            "ROLE_UPDATED",
            "success",
            target=f"role:{role.name}",
            institution_id=actor.institution_id,
            details={"permissions": sorted(perms)},
        ),
        origin,
    )
    return role, set(perms)
