"""FastAPI dependencies: session (commit before response), principals, settings, pagination."""

from __future__ import annotations

from typing import Annotated

from caisse_shared import permissions as perm
from caisse_shared.db import Database
from caisse_shared.errors import Unprocessable
from caisse_shared.http.security import Principal, require
from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_bank_sync.config import Settings
from caisse_bank_sync.services.queries import Page
from caisse_bank_sync.services.runner import SyncRunner


async def _session(request: Request) -> object:
    db: Database = request.app.state.database
    async with db.unit_of_work() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
SyncReader = Annotated[Principal, Depends(require(perm.BANKSYNC_SYNC_READ))]
SyncRunnerPrincipal = Annotated[Principal, Depends(require(perm.BANKSYNC_SYNC_RUN))]
CustomerReader = Annotated[Principal, Depends(require(perm.BANKSYNC_CUSTOMERS_READ))]
LoanReader = Annotated[Principal, Depends(require(perm.BANKSYNC_LOANS_READ))]


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_runner(request: Request) -> SyncRunner:
    """The app's background sync runner."""
    return request.app.state.sync_runner  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
RunnerDep = Annotated[SyncRunner, Depends(get_runner)]


def paging(sortable: tuple[str, ...]) -> object:
    """Dependency factory: limit/offset/sort (``-field`` descending) limited to ``sortable``."""

    def dep(
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        sort: Annotated[str | None, Query(max_length=40)] = None,
    ) -> Page:
        name = (sort or "").lstrip("-")
        if sort and name not in sortable:
            raise Unprocessable(f"cannot sort by {name!r}", sortable=list(sortable))
        return Page(
            limit=limit, offset=offset, sort=name or None, descending=bool(sort and sort.startswith("-"))
        )

    return dep
