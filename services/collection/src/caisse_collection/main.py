"""App factory (``uvicorn --factory caisse_collection.main:create_app``)."""

from __future__ import annotations

from collections.abc import Sequence

from caisse_shared.db import Database
from caisse_shared.http.app import BackgroundWorker, create_service_app, make_relay
from caisse_shared.http.security import TokenVerifier
from caisse_shared.messaging.consumer import ConsumerConfig, ConsumerRunner
from fastapi import FastAPI

from caisse_collection.api.routes import actions, agents, assignments, cases
from caisse_collection.config import Settings
from caisse_collection.consumers.handlers import make_handlers
from caisse_collection.db.models import Base
from caisse_collection.scheduler import JobsWorker

DESCRIPTION = (
    "Collection workflow: agents and teams, cases with a status state machine, actions and "
    "promises to pay, strategies and daily task lists, manual/bulk/automatic assignment, "
    "performance. Driven by bank-sync delinquency and payment events."
)


def make_consumer(settings: Settings, database: Database) -> ConsumerRunner:
    """The consumer of bank-sync and payments events."""
    return ConsumerRunner(
        group=settings.consumer_group,
        bootstrap=settings.kafka_bootstrap_servers,
        database=database,
        handlers=make_handlers(auto_assign=settings.auto_assign),
        config=ConsumerConfig(retry_delays_s=settings.consumer_retry_delays_s),
    )


def create_app(settings: Settings | None = None, *, verifier: TokenVerifier | None = None) -> FastAPI:
    """Build the collection service app (relay, consumer and scheduler run in the lifespan)."""
    settings = settings or Settings()
    database = Database(settings.database_url, Base.metadata)
    consumer = make_consumer(settings, database)
    scheduler = JobsWorker(database, settings.jobs_interval_s, run_on_start=settings.run_jobs_on_start)

    def workers(app: FastAPI) -> Sequence[BackgroundWorker]:
        return [make_relay(database, settings), consumer, scheduler]

    app = create_service_app(
        settings=settings,
        database=database,
        routers=[agents.router, actions.router, assignments.router, cases.router],
        title="Caisse collection",
        description=DESCRIPTION,
        verifier=verifier,
        workers=workers,
    )
    app.state.consumer = consumer
    app.state.scheduler = scheduler
    return app
