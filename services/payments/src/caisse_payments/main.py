"""App factory (``uvicorn --factory caisse_payments.main:create_app``)."""

from __future__ import annotations

import gc
from collections.abc import Sequence

from caisse_shared.db import Database
from caisse_shared.http.app import BackgroundWorker, create_service_app, make_relay
from caisse_shared.http.security import TokenVerifier
from caisse_shared.messaging.consumer import ConsumerConfig, ConsumerRunner
from fastapi import FastAPI

from caisse_payments.api.routes import payments, reconciliation, sandbox, tontine, webhooks
from caisse_payments.config import Settings
from caisse_payments.consumers.loans import handle_loan_updated
from caisse_payments.db.driver import limit_in_flight
from caisse_payments.db.models import Base
from caisse_payments.domain.allocation import parse_order
from caisse_payments.services.providers import PaymentProvider, make_provider
from caisse_payments.services.scheduler import ReconciliationScheduler

DESCRIPTION = (
    "Mobile-money and bank payment notifications, exactly once (channel + provider reference, "
    "Idempotency-Key); allocation to loan dues; reversals; reconciliation; PDF receipts. "
    "Webhooks authenticate by HMAC signature; everything else by JWT permissions."
)


def _workers(settings: Settings, database: Database) -> Sequence[BackgroundWorker]:
    workers: list[BackgroundWorker] = [make_relay(database, settings)]
    if settings.consume_loans:
        workers.append(
            ConsumerRunner(
                group=settings.loans_group,
                bootstrap=settings.kafka_bootstrap_servers,
                database=database,
                handlers={settings.loans_topic: handle_loan_updated},
                config=ConsumerConfig(retry_delays_s=settings.consumer_retry_delays_s),
            )
        )
    if settings.reconciliation_schedule_enabled or settings.webhook_delivery_purge_interval_s > 0:
        workers.append(
            ReconciliationScheduler(
                database,
                interval_s=(
                    settings.reconciliation_interval_s if settings.reconciliation_schedule_enabled else None
                ),
                tolerance_days=settings.reconciliation_date_tolerance_days,
                delivery_retention_s=settings.webhook_delivery_retention_s,
                purge_interval_s=settings.webhook_delivery_purge_interval_s,
            )
        )
    return workers


async def _freeze_startup_objects(_app: FastAPI) -> None:
    """Move what startup built out of the collector's sight (``gc.freeze``).

    A full collection walks every tracked object: with the ~175,000 that importing FastAPI,
    SQLAlchemy, pydantic and the schemas leaves, one took ~100 ms under load, stalling every
    request in flight on the worker (the p99). Frozen objects are never scanned again; what
    requests allocate is still collected.
    """
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    provider: PaymentProvider | None = None,
) -> FastAPI:
    """Build the payments service app."""
    settings = settings or Settings()
    parse_order(settings.allocation_order)  # fail fast on a bad configured order
    database = Database(
        settings.database_url,
        Base.metadata,
        pool_size=settings.db_pool_size,
        ping_idle_s=settings.db_ping_idle_s,
    )
    limit_in_flight(database.engine, settings.webhook_db_concurrency or None)
    routers = [webhooks.router, reconciliation.router, tontine.router]
    if settings.provider == "sandbox":  # development only (Settings refuses it elsewhere)
        routers.append(sandbox.router)
    app = create_service_app(
        settings=settings,
        database=database,
        title="Caisse payments",
        description=DESCRIPTION,
        verifier=verifier,
        routers=[*routers, payments.router],  # payments last: its /{referenceNumber} matches all
        workers=lambda app: _workers(settings, database),
        on_startup=_freeze_startup_objects,
    )
    app.state.provider = provider or make_provider(settings)
    return app
