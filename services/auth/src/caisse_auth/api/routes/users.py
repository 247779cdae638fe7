"""/api/users: administration of users, their roles, sessions and passwords."""

from __future__ import annotations

import uuid
from typing import Annotated

from caisse_shared.events.envelope import utcnow
from caisse_shared.http.security import Principal, require
from caisse_shared.permissions import AUTH_SESSIONS_MANAGE, AUTH_USERS_READ, AUTH_USERS_WRITE
from fastapi import APIRouter, Depends, Path, Query

from caisse_auth.api.deps import KitDep, OriginDep, SessionDep, acting
from caisse_auth.api.schemas import (
    PasswordReset,
    PasswordResetRead,
    RevokedRead,
    RoleAssignCreate,
    RoleRead,
    SessionRead,
    UserCreate,
    UserCreatedRead,
    UserRead,
    UserUpdate,
)
from caisse_auth.api.views import role_read, user_read, users_read
from caisse_auth.db.repositories import RoleRepository, UserRepository
from caisse_auth.domain.users import UserStatus
from caisse_auth.services import sessions, users
from caisse_auth.services.users import NewUser, UserChanges

router = APIRouter(prefix="/api/users", tags=["users"])
Reader = Annotated[Principal, Depends(require(AUTH_USERS_READ))]
Writer = Annotated[Principal, Depends(require(AUTH_USERS_WRITE))]
RoleRef = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9_]+$")]
SessionAdmin = Annotated[Principal, Depends(require(AUTH_SESSIONS_MANAGE))]


@router.get("", response_model=list[UserRead], summary=f"List users ({AUTH_USERS_READ})")
async def list_users(
    principal: Reader,
    session: SessionDep,
    role: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]+$")] = None,
    status: UserStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[UserRead]:
    rows = await UserRepository(session).search(
        role=role, status=status, institution_id=principal.institution_id, limit=limit, offset=offset
    )
    return await users_read(session, rows)


@router.post(
    "", response_model=UserCreatedRead, status_code=201, summary=f"Create a local user ({AUTH_USERS_WRITE})"
)
async def create_user(
    body: UserCreate, principal: Writer, session: SessionDep, kit: KitDep, origin: OriginDep
) -> UserCreatedRead:
    new = NewUser(
        username=body.username,
        password=body.password,
        email=body.email,
        full_name=body.full_name,
        institution_id=body.institution_id,
        agency_id=body.agency_id,
        roles=tuple(body.roles),
        must_change_password=body.must_change_password,
    )
    user, generated = await users.create_user(
        kit, session, principal, new, acting(origin, principal), utcnow()
    )
    read = await user_read(session, user)
    return UserCreatedRead(**read.model_dump(), temporary_password=generated)


@router.get("/{user_id}", response_model=UserRead, summary=f"Get a user ({AUTH_USERS_READ})")
async def get_user(user_id: uuid.UUID, principal: Reader, session: SessionDep) -> UserRead:
    return await user_read(session, await users.visible_user(session, principal, user_id))


@router.patch("/{user_id}", response_model=UserRead, summary=f"Update profile fields ({AUTH_USERS_WRITE})")
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, principal: Writer, session: SessionDep, origin: OriginDep
) -> UserRead:
    changes = UserChanges({k: getattr(body, k) for k in body.model_fields_set})
    user = await users.update_user(session, principal, user_id, changes, acting(origin, principal), utcnow())
    return await user_read(session, user)


@router.post(
    "/{user_id}/deactivate",
    response_model=UserRead,
    summary=f"Deactivate (ends every session) ({AUTH_USERS_WRITE})",
)
async def deactivate(
    user_id: uuid.UUID, principal: Writer, session: SessionDep, origin: OriginDep
) -> UserRead:
    user = await users.set_status(
        session, principal, user_id, UserStatus.INACTIVE, acting(origin, principal), utcnow()
    )
    return await user_read(session, user)


@router.post("/{user_id}/activate", response_model=UserRead, summary=f"Reactivate ({AUTH_USERS_WRITE})")
async def activate(user_id: uuid.UUID, principal: Writer, session: SessionDep, origin: OriginDep) -> UserRead:
    user = await users.set_status(
        session, principal, user_id, UserStatus.ACTIVE, acting(origin, principal), utcnow()
    )
    return await user_read(session, user)


@router.post(
    "/{user_id}/unlock", response_model=UserRead, summary=f"Lift a sign-in lockout ({AUTH_USERS_WRITE})"
)
async def unlock(user_id: uuid.UUID, principal: Writer, session: SessionDep, origin: OriginDep) -> UserRead:
    user = await users.unlock(session, principal, user_id, acting(origin, principal), utcnow())
    return await user_read(session, user)


@router.post(
    "/{user_id}/password/reset",
    response_model=PasswordResetRead,
    summary=f"Reset the password (ends every session) ({AUTH_USERS_WRITE})",
)
async def reset_password(
    user_id: uuid.UUID,
    body: PasswordReset,
    principal: Writer,
    session: SessionDep,
    kit: KitDep,
    origin: OriginDep,
) -> PasswordResetRead:
    generated = await users.reset_password(
        kit, session, principal, user_id, body.new_password, acting(origin, principal), utcnow()
    )
    return PasswordResetRead(temporary_password=generated)


@router.get("/{user_id}/roles", response_model=list[RoleRead], summary=f"Roles of a user ({AUTH_USERS_READ})")
async def user_roles(user_id: uuid.UUID, principal: Reader, session: SessionDep) -> list[RoleRead]:
    user = await users.visible_user(session, principal, user_id)
    roles = (await UserRepository(session).roles_of([user.id]))[user.id]
    perms = await RoleRepository(session).permissions_of(r.id for r in roles)
    return [role_read(r, perms[r.id]) for r in roles]


@router.post(
    "/{user_id}/roles", response_model=UserRead, summary=f"Assign a role you may grant ({AUTH_USERS_WRITE})"
)
async def assign_role(
    user_id: uuid.UUID, body: RoleAssignCreate, principal: Writer, session: SessionDep, origin: OriginDep
) -> UserRead:
    user = await users.assign_role(
        session, principal, user_id, body.role, acting(origin, principal), utcnow()
    )
    return await user_read(session, user)


@router.delete(
    "/{user_id}/roles/{role}", response_model=UserRead, summary=f"Remove a role ({AUTH_USERS_WRITE})"
)
async def remove_role(
    user_id: uuid.UUID, role: RoleRef, principal: Writer, session: SessionDep, origin: OriginDep
) -> UserRead:
    user = await users.remove_role(session, principal, user_id, role, acting(origin, principal), utcnow())
    return await user_read(session, user)


@router.get(
    "/{user_id}/sessions",
    response_model=list[SessionRead],
    summary=f"Sessions of a user ({AUTH_SESSIONS_MANAGE})",
)
async def list_sessions(
    user_id: uuid.UUID, principal: SessionAdmin, session: SessionDep, include_ended: bool = False
) -> list[SessionRead]:
    user = await users.visible_user(session, principal, user_id)
    rows = await sessions.list_sessions(session, user, utcnow(), include_ended)
    return [SessionRead.model_validate(r) for r in rows]


@router.delete(
    "/{user_id}/sessions",
    response_model=RevokedRead,
    summary=f"Revoke every session of a user ({AUTH_SESSIONS_MANAGE})",
)
async def revoke_all(
    user_id: uuid.UUID, principal: SessionAdmin, session: SessionDep, origin: OriginDep
) -> RevokedRead:
    user = await users.visible_user(session, principal, user_id)
    count = await sessions.end_all_sessions(session, user, "revoked", acting(origin, principal), utcnow())
    return RevokedRead(revoked=count)


@router.delete(
    "/{user_id}/sessions/{session_id}",
    response_model=RevokedRead,
    summary=f"Revoke one session ({AUTH_SESSIONS_MANAGE})",
)
async def revoke_one(
    user_id: uuid.UUID, session_id: uuid.UUID, principal: SessionAdmin, session: SessionDep, origin: OriginDep
) -> RevokedRead:
    user = await users.visible_user(session, principal, user_id)
    count = await sessions.revoke_session(session, user, session_id, acting(origin, principal), utcnow())
    return RevokedRead(revoked=count)
