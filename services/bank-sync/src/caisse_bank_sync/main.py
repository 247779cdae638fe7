"""bank-sync app factory (``uvicorn --factory caisse_bank_sync.main:create_app``)."""

from __future__ import annotations

from caisse_shared.db import Database
from caisse_shared.http.app import BackgroundWorker, create_service_app, make_relay
from caisse_shared.http.security import TokenVerifier
from fastapi import FastAPI

from caisse_bank_sync.api.routes import customers, loans, sync
from caisse_bank_sync.config import Settings
from caisse_bank_sync.db.models import Base
from caisse_bank_sync.services.runner import SyncRunner
from caisse_bank_sync.services.scheduler import SyncScheduler


def create_app(settings: Settings | None = None, *, verifier: TokenVerifier | None = None) -> FastAPI:
    """Build the bank-sync API with its relay, sync runner and scheduler."""
    settings = settings or Settings()
    db = Database(settings.database_url, Base.metadata)
    runner = SyncRunner(db, settings)

    def workers(app: FastAPI) -> list[BackgroundWorker]:
        return [make_relay(db, settings), runner, SyncScheduler(db, settings, runner)]

    app = create_service_app(
        settings=settings,
        database=db,
        routers=[sync.router, customers.router, loans.router],
        title="Caisse bank-sync",
        description="Customers, loans and collaterals synchronised from T24, W4 and LOS.",
        verifier=verifier,
        workers=workers,
    )
    app.state.sync_runner = runner
    return app
