"""/api/roles and /api/permissions: roles, their permissions, the catalogue."""

from __future__ import annotations

from typing import Annotated

from caisse_shared.events.envelope import utcnow
from caisse_shared.http.security import Principal, require
from caisse_shared.permissions import AUTH_ROLES_READ, AUTH_ROLES_WRITE, CATALOGUE
from fastapi import APIRouter, Depends, Path

from caisse_auth.api.deps import OriginDep, SessionDep, acting
from caisse_auth.api.schemas import PermissionRead, RoleCreate, RolePermissionsUpdate, RoleRead
from caisse_auth.api.views import permission_read, role_read
from caisse_auth.services import roles

router = APIRouter(tags=["roles"])
Reader = Annotated[Principal, Depends(require(AUTH_ROLES_READ))]
Writer = Annotated[Principal, Depends(require(AUTH_ROLES_WRITE))]
RoleRef = Annotated[
    str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="role id (UUID) or name")
]


@router.get("/api/roles", response_model=list[RoleRead], summary=f"List roles ({AUTH_ROLES_READ})")
async def list_roles(principal: Reader, session: SessionDep) -> list[RoleRead]:
    return [role_read(r, p) for r, p in await roles.roles_with_permissions(session)]


@router.post(
    "/api/roles",
    response_model=RoleRead,
    status_code=201,
    summary=f"Create a custom role ({AUTH_ROLES_WRITE})",
)
async def create_role(
    body: RoleCreate, principal: Writer, session: SessionDep, origin: OriginDep
) -> RoleRead:
    role = await roles.create_role(
        session, principal, body.name, body.description, body.permissions, acting(origin, principal), utcnow()
    )
    return role_read(role, set(body.permissions))


@router.get(
    "/api/roles/{role_id}/permissions",
    response_model=list[PermissionRead],
    summary=f"Permissions of a role ({AUTH_ROLES_READ})",
)
async def role_permissions(role_id: RoleRef, principal: Reader, session: SessionDep) -> list[PermissionRead]:
    _, perms = await roles.permissions_of(session, role_id)
    return [permission_read(p) for p in sorted(perms)]


@router.put(
    "/api/roles/{role_id}/permissions",
    response_model=RoleRead,
    summary=f"Replace the permissions of a custom role ({AUTH_ROLES_WRITE})",
)
async def set_role_permissions(
    role_id: RoleRef, body: RolePermissionsUpdate, principal: Writer, session: SessionDep, origin: OriginDep
) -> RoleRead:
    role, perms = await roles.set_role_permissions(
        session, principal, role_id, body.permissions, acting(origin, principal)
    )
    return role_read(role, perms)


@router.get(
    "/api/permissions",
    response_model=list[PermissionRead],
    summary=f"The suite's permission catalogue ({AUTH_ROLES_READ})",
)
async def catalogue(principal: Reader) -> list[PermissionRead]:
    return [permission_read(code) for code in sorted(CATALOGUE)]
