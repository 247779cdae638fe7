"""OAuth2 client-credentials: partner systems and service-to-service callers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from caisse_shared.errors import AppError, NotFound
from caisse_shared.http.security import Principal
from caisse_shared.permissions import CATALOGUE
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.db.models import OAuthClient
from caisse_auth.domain import tokens as T
from caisse_auth.domain.context import Origin
from caisse_auth.domain.roles import covers, grants, valid_permission
from caisse_auth.errors import ClientExists, InvalidClient, InvalidPermission, PrivilegeEscalation
from caisse_auth.services import audit
from caisse_auth.services.kit import AuthKit
from caisse_auth.services.scope import assigned_institution


async def register(
    session: AsyncSession,
    actor: Principal,
    client_id: str,
    name: str,
    permissions: list[str],
    institution_id: str | None,
    origin: Origin,
) -> tuple[OAuthClient, str]:
    """A new client; the secret is returned once and only its hash is kept."""
    institution = assigned_institution(actor, institution_id)
    perms = frozenset(permissions)
    if any(not valid_permission(p, frozenset(CATALOGUE)) for p in perms):
        raise InvalidPermission("a client permission is not in the catalogue")
    if not covers(actor.permissions, perms):
        raise PrivilegeEscalation("a client cannot get permissions you do not hold")
    if await session.get(OAuthClient, client_id) is not None:
        raise ClientExists(f"client {client_id!r} exists")
    secret = T.new_client_secret()
    client = OAuthClient(
        client_id=client_id,
        name=name,
        secret_hash=T.token_hash(secret),
        permissions=sorted(perms),
        active=True,
        created_by=actor.subject,
        institution_id=institution,
    )
    session.add(client)
    await session.flush()
    await audit.record(
        session,
        audit.AuditEntry(
            "CLIENT_CREATED",
            "success",
            target=f"client:{client_id}",
            institution_id=client.institution_id,
            details={"permissions": sorted(perms)},
        ),
        origin,
    )
    return client, secret


async def list_clients(session: AsyncSession, actor: Principal) -> Sequence[OAuthClient]:
    """Clients in the actor's scope."""
    stmt = select(OAuthClient).order_by(OAuthClient.client_id)
    if actor.institution_id is not None:
        stmt = stmt.where(OAuthClient.institution_id == actor.institution_id)
    return (await session.execute(stmt)).scalars().all()


async def deactivate(session: AsyncSession, actor: Principal, client_id: str, origin: Origin) -> OAuthClient:
    """Disable a client; its live tokens fail validation at once."""
    client = await session.get(OAuthClient, client_id, with_for_update=True)
    if client is None or not actor.can_see_institution(client.institution_id):
        raise NotFound(f"client {client_id!r} not found")
    client.active = False
    await audit.record(
        session,
        audit.AuditEntry(
            "CLIENT_DEACTIVATED",
            "success",
            target=f"client:{client_id}",
            institution_id=client.institution_id,
        ),
        origin,
    )
    return client


async def issue(
    kit: AuthKit,
    session: AsyncSession,
    client_id: str,
    secret: str,
    scope: str | None,
    origin: Origin,
    now: datetime,
) -> tuple[str, list[str]] | AppError:
    """Access token for a client (no refresh token); failures are recorded, not raised."""
    client = await session.get(OAuthClient, client_id) if len(client_id) <= 100 else None
    ok = client is not None and client.active and T.same_hash(client.secret_hash, secret)
    if not ok or client is None:
        await audit.record(
            session,
            audit.AuditEntry(
                "LOGIN_FAILED",
                "failure",
                client_id[:150],
                reason="invalid_client",
                details={"provider": "client_credentials"},
            ),
            origin,
            audit.auth_event(
                "LoginFailed",
                client_id[:150] or "-",
                {
                    "user_id": None,
                    "username": client_id[:150],
                    "status": "FAILED",
                    "reason": "invalid_client",
                    "provider": "client_credentials",
                    "ip": origin.ip,
                    "user_agent": origin.user_agent,
                    "timestamp": now,
                },
            ),
        )
        return InvalidClient("invalid client credentials")
    granted = frozenset(client.permissions)
    wanted = frozenset(scope.split()) if scope else granted
    if not all(grants(granted, w) for w in wanted):
        return InvalidClient("requested scope exceeds the client's permissions")
    identity = T.Identity(
        subject=f"client:{client.client_id}",
        permissions=wanted,
        client_id=client.client_id,
        institution_id=client.institution_id,
    )
    claims = T.access_claims(
        identity,
        issuer=kit.settings.jwt_issuer,
        audience=kit.settings.jwt_audience,
        now=now,
        ttl_s=kit.settings.client_token_ttl_s,
    )
    await audit.record(
        session,
        audit.AuditEntry(
            "LOGIN_SUCCESS",
            "success",
            client.client_id,
            institution_id=client.institution_id,
            details={"provider": "client_credentials"},
        ),
        origin,
        audit.auth_event(
            "LoginSucceeded",
            client.client_id,
            {
                "user_id": None,
                "username": client.client_id,
                "status": "SUCCESS",
                "provider": "client_credentials",
                "session_id": None,
                "institution_id": client.institution_id,
                "ip": origin.ip,
                "user_agent": origin.user_agent,
                "timestamp": now,
            },
        ),
    )
    return await kit.ring.sign(claims), sorted(wanted)
