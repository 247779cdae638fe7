"""App factory: every service gets the same errors, middleware, health, metrics and lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from caisse_shared.config import ServiceSettings
from caisse_shared.db import Database
from caisse_shared.errors import install_error_handlers
from caisse_shared.http.middleware import RequestContextMiddleware
from caisse_shared.http.openapi import install_openapi
from caisse_shared.http.security import TokenVerifier
from caisse_shared.messaging.kafka import ensure_topics, make_producer
from caisse_shared.messaging.relay import OutboxRelay, RelayConfig
from caisse_shared.observability import configure_logging

log = logging.getLogger("caisse.app")


class BackgroundWorker(Protocol):
    """Anything with start/stop: relay, consumer runner, scheduler."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def broker_reachable(bootstrap: str, connect_timeout: float = 2.0) -> bool:
    """True if a TCP connection to the first reachable bootstrap server succeeds."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), connect_timeout)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return True
        except (TimeoutError, OSError, ValueError):
            continue
    return False


_READY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "checks": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["status", "checks"],
}


def health_router(database: Database, settings: ServiceSettings) -> APIRouter:
    """``/health/live``, ``/health/ready`` (DB and broker) and ``/metrics``; no auth (probes)."""
    router = APIRouter(tags=["operations"])

    @router.get("/health/live", summary="Liveness probe (no auth)")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/health/ready",
        summary="Readiness: database and broker reachable (no auth)",
        responses={
            200: {"description": "Ready", "content": {"application/json": {"schema": _READY}}},
            503: {"description": "Not ready", "content": {"application/json": {"schema": _READY}}},
        },
    )
    async def ready() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(database.ping(), 3.0)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        checks["broker"] = "ok" if await broker_reachable(settings.kafka_bootstrap_servers) else "unreachable"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )

    @router.get(
        "/metrics",
        summary="Prometheus metrics (no auth; scrape inside the cluster)",
        response_class=Response,
        responses={200: {"description": "Prometheus text exposition", "content": {CONTENT_TYPE_LATEST: {}}}},
    )
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def default_verifier(settings: ServiceSettings) -> TokenVerifier:
    """Verifier from settings: JWKS URL of the auth service."""
    return TokenVerifier(
        issuer=settings.jwt_issuer, audience=settings.jwt_audience, jwks_url=settings.jwks_url
    )


def make_relay(database: Database, settings: ServiceSettings) -> OutboxRelay:
    """The service's outbox relay configured from settings."""
    return OutboxRelay(
        database.engine,
        database.metadata,
        lambda: make_producer(settings.kafka_bootstrap_servers, idempotent=settings.kafka_enable_idempotence),
        service=settings.service_name,
        topic_creator=lambda topics: ensure_topics(settings.kafka_bootstrap_servers, topics),
        config=RelayConfig(
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            retention_s=settings.outbox_retention_hours * 3600,
        ),
    )


def create_service_app(
    *,
    settings: ServiceSettings,
    database: Database,
    routers: Sequence[APIRouter],
    title: str,
    description: str = "",
    version: str = "1.0.0",
    verifier: TokenVerifier | None = None,
    workers: Callable[[FastAPI], Sequence[BackgroundWorker]] | None = None,
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None,
    openapi_tags: list[dict[str, Any]] | None = None,
) -> FastAPI:
    """Build a service app. ``workers(app)`` returns relay/consumers/schedulers to run."""
    configure_logging(settings.service_name, settings.log_level, json_logs=settings.log_json)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started: list[BackgroundWorker] = []
        if on_startup is not None:
            await on_startup(app)
        if settings.run_background_workers and workers is not None:
            for worker in workers(app):
                await worker.start()
                started.append(worker)
        log.info("%s started", settings.service_name)
        try:
            yield
        finally:
            for worker in reversed(started):
                with contextlib.suppress(Exception):
                    await worker.stop()
            await database.dispose()

    # Swagger UI and ReDoc from files the service serves itself: bank networks are often offline.
    app = FastAPIOffline(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.token_verifier = verifier or default_verifier(settings)
    install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        service=settings.service_name,
        max_body_bytes=settings.max_body_bytes,
        access_log_enabled=settings.access_log,
    )
    app.include_router(health_router(database, settings))
    for router in routers:
        app.include_router(router)
    install_openapi(app)
    return app
