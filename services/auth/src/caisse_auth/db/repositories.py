"""Queries on users, roles and permissions (add + flush, never commit)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.db.models import Permission, Role, RolePermission, User, UserRole


class UserRepository:
    """Users and their role assignments."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        """A user by id."""
        stmt = select(User).where(User.id == user_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_username(self, username: str, *, for_update: bool = False) -> User | None:
        """A user by (normalised) username."""
        stmt = select(User).where(User.username == username)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, user: User) -> User:
        """Insert a user."""
        self.session.add(user)
        await self.session.flush()
        return user

    async def count(self) -> int:
        """How many users exist."""
        result = await self.session.execute(select(func.count()).select_from(User))
        return int(result.scalar_one())

    async def search(
        self,
        *,
        role: str | None,
        status: str | None,
        institution_id: str | None,
        limit: int,
        offset: int,
    ) -> Sequence[User]:
        """Users filtered by role name, status and institution, ordered by username."""
        stmt = select(User).order_by(User.username).limit(limit).offset(offset)
        if status:
            stmt = stmt.where(User.status == status)
        if institution_id:
            stmt = stmt.where(User.institution_id == institution_id)
        if role:
            stmt = stmt.where(
                User.id.in_(
                    select(UserRole.user_id).join(Role, Role.id == UserRole.role_id).where(Role.name == role)
                )
            )
        return (await self.session.execute(stmt)).scalars().all()

    async def roles_of(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Role]]:
        """Roles held by each user."""
        ids = list(user_ids)
        out: dict[uuid.UUID, list[Role]] = {i: [] for i in ids}
        if not ids:
            return out
        rows = await self.session.execute(
            select(UserRole.user_id, Role)
            .join(Role, Role.id == UserRole.role_id)
            .where(UserRole.user_id.in_(ids))
            .order_by(Role.name)
        )
        for user_id, role in rows.all():
            out[user_id].append(role)
        return out

    async def assign(self, user_id: uuid.UUID, role_id: uuid.UUID, *, origin: str, by: str | None) -> bool:
        """Give a role; False if the user already had it."""
        stmt = (
            insert(UserRole)
            .values(user_id=user_id, role_id=role_id, origin=origin, assigned_by=by)
            .on_conflict_do_nothing()
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def unassign(self, user_id: uuid.UUID, role_id: uuid.UUID) -> bool:
        """Take a role away; False if the user did not have it."""
        result = await self.session.execute(
            delete(UserRole).where(UserRole.user_id == user_id, UserRole.role_id == role_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def clear_origin(self, user_id: uuid.UUID, origin: str) -> None:
        """Remove every role of one origin (directory sync replaces them)."""
        await self.session.execute(
            delete(UserRole).where(UserRole.user_id == user_id, UserRole.origin == origin)
        )


class RoleRepository:
    """Roles, their permissions and the permission catalogue."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> Sequence[Role]:
        """Every role by name."""
        return (await self.session.execute(select(Role).order_by(Role.name))).scalars().all()

    async def get(self, role_id: uuid.UUID) -> Role | None:
        """A role by id."""
        return await self.session.get(Role, role_id)

    async def by_name(self, name: str) -> Role | None:
        """A role by name."""
        return (await self.session.execute(select(Role).where(Role.name == name))).scalar_one_or_none()

    async def by_names(self, names: Iterable[str]) -> Sequence[Role]:
        """Roles whose name is in ``names``."""
        return (await self.session.execute(select(Role).where(Role.name.in_(list(names))))).scalars().all()

    async def add(self, role: Role) -> Role:
        """Insert a role."""
        self.session.add(role)
        await self.session.flush()
        return role

    async def permissions_of(self, role_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
        """Permissions granted by each role."""
        ids = list(role_ids)
        out: dict[uuid.UUID, set[str]] = {i: set() for i in ids}
        if ids:
            rows = await self.session.execute(
                select(RolePermission.role_id, RolePermission.permission).where(
                    RolePermission.role_id.in_(ids)
                )
            )
            for role_id, perm in rows.all():
                out[role_id].add(perm)
        return out

    async def set_permissions(self, role_id: uuid.UUID, permissions: Iterable[str]) -> None:
        """Replace a role's permissions."""
        await self.session.execute(delete(RolePermission).where(RolePermission.role_id == role_id))
        rows = [{"role_id": role_id, "permission": p} for p in sorted(set(permissions))]
        if rows:
            await self.session.execute(insert(RolePermission), rows)

    async def upsert_catalogue(self, catalogue: dict[str, str]) -> None:
        """Make the permission table match the catalogue (new codes added, descriptions updated)."""
        if not catalogue:
            return
        stmt = insert(Permission).values(
            [{"code": c, "description": d} for c, d in sorted(catalogue.items())]
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Permission.code], set_={"description": stmt.excluded.description}
            )
        )

    async def catalogue(self) -> Sequence[Permission]:
        """Every permission of the catalogue."""
        return (await self.session.execute(select(Permission).order_by(Permission.code))).scalars().all()
