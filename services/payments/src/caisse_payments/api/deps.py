"""FastAPI dependencies as Annotated aliases: session, settings, provider, principals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from caisse_shared import permissions as perm
from caisse_shared.db import Database
from caisse_shared.http.security import Principal, require
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_payments.config import Settings
from caisse_payments.domain.allocation import parse_order
from caisse_payments.services.ingest import IngestContext
from caisse_payments.services.providers import PaymentProvider


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work (committed before the response is sent)."""
    database: Database = request.app.state.database
    async with database.unit_of_work() as session:
        yield session


async def _settings(request: Request) -> Settings:
    # async: FastAPI would run a plain ``def`` dependency in its thread pool on every request
    settings: Settings = request.app.state.settings
    return settings


async def _provider(request: Request) -> PaymentProvider:
    provider: PaymentProvider = request.app.state.provider
    return provider


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(_settings)]
ProviderDep = Annotated[PaymentProvider, Depends(_provider)]
Reader = Annotated[Principal, Depends(require(perm.PAYMENTS_READ))]
Creator = Annotated[Principal, Depends(require(perm.PAYMENTS_CREATE))]
Reverser = Annotated[Principal, Depends(require(perm.PAYMENTS_REVERSE))]
Reconciler = Annotated[Principal, Depends(require(perm.PAYMENTS_RECONCILE))]
Initiator = Annotated[Principal, Depends(require(perm.PAYMENTS_INITIATE))]


def ingest_context(settings: Settings, actor: str | None) -> IngestContext:
    """Allocation order from settings plus the acting subject."""
    return IngestContext(order=parse_order(settings.allocation_order), actor=actor)
