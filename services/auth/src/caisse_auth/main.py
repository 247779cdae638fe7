"""App factory of the auth service (``uvicorn --factory caisse_auth.main:create_app``)."""

from __future__ import annotations

from typing import Any

from caisse_shared.db import Database
from caisse_shared.events.envelope import utcnow
from caisse_shared.http.app import create_service_app, make_relay
from caisse_shared.http.security import TokenVerifier
from fastapi import FastAPI

from caisse_auth.api.routes import audit, auth, clients, roles, users
from caisse_auth.config import Settings
from caisse_auth.db.models import Base
from caisse_auth.services import sessions
from caisse_auth.services.bootstrap import startup
from caisse_auth.services.keyring import RingVerifier
from caisse_auth.services.kit import AuthKit

DESCRIPTION = (
    "Identities, roles and permissions, RS256 JWT sessions with rotating refresh tokens, "
    "OAuth2 client credentials, LDAP/Active Directory sign-in, audit log."
)


def _guard_verifier(kit: AuthKit) -> RingVerifier:
    """Verifier for this service's own endpoints: local keys plus immediate revocation."""

    async def revoked(claims: dict[str, Any]) -> bool:
        async with kit.database.sessionmaker() as session:
            return await sessions.is_revoked(session, claims, utcnow())

    return RingVerifier(kit.ring, kit.settings, revocation_check=revoked)


def create_app(settings: Settings | None = None, *, verifier: TokenVerifier | None = None) -> FastAPI:
    """Build the auth app; start-up seeds roles, ensures a signing key, and the demo admin."""
    settings = settings or Settings()
    database = Database(settings.database_url, Base.metadata)
    kit = AuthKit.build(settings, database)

    async def on_startup(app: FastAPI) -> None:
        await startup(kit)

    app = create_service_app(
        settings=settings,
        database=database,
        title="Caisse auth",
        description=DESCRIPTION,
        routers=[auth.router, clients.router, users.router, roles.router, audit.router],
        verifier=verifier or _guard_verifier(kit),
        on_startup=on_startup,
        workers=lambda app: [make_relay(database, settings)],
    )
    app.state.kit = kit
    return app
