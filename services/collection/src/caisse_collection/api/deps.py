"""FastAPI dependencies as Annotated aliases: session, settings, and actors per permission."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from caisse_shared import permissions as perm
from caisse_shared.db import Database
from caisse_shared.http.security import Principal, require
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.config import Settings
from caisse_collection.services.scope import Actor, resolve_actor


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work (committed before the response is sent)."""
    database: Database = request.app.state.database
    async with database.unit_of_work() as session:
        yield session


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(_settings)]


def _actor(permission: str) -> Callable[..., Awaitable[Actor]]:
    """Dependency: the caller must hold ``permission``; returns it with its agent profile."""

    async def dep(
        session: SessionDep, principal: Annotated[Principal, Depends(require(permission))]
    ) -> Actor:
        return await resolve_actor(session, principal)

    dep.__name__ = f"actor_{permission.replace(':', '_')}"
    return dep


def _a(permission: str) -> Any:
    return Annotated[Actor, Depends(_actor(permission))]


AgentsReader = _a(perm.COLLECTION_AGENTS_READ)
AgentsWriter = _a(perm.COLLECTION_AGENTS_WRITE)
ActionsReader = _a(perm.COLLECTION_ACTIONS_READ)
ActionsWriter = _a(perm.COLLECTION_ACTIONS_WRITE)
AssignmentsReader = _a(perm.COLLECTION_ASSIGNMENTS_READ)
AssignmentsWriter = _a(perm.COLLECTION_ASSIGNMENTS_WRITE)
CasesReader = _a(perm.COLLECTION_CASES_READ)
CasesWriter = _a(perm.COLLECTION_CASES_WRITE)
StrategiesWriter = _a(perm.COLLECTION_STRATEGIES_WRITE)
PerformanceReader = _a(perm.COLLECTION_PERFORMANCE_READ)
