"""Start-up: permission catalogue, signing key, and the development demo administrator."""

from __future__ import annotations

import logging
import secrets

from caisse_shared.events.envelope import utcnow
from caisse_shared.http.security import Principal
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.db.repositories import UserRepository
from caisse_auth.domain.context import Origin
from caisse_auth.domain.users import normalise_username
from caisse_auth.services import audit
from caisse_auth.services.kit import AuthKit
from caisse_auth.services.roles import sync_catalogue
from caisse_auth.services.users import NewUser, create_user

log = logging.getLogger("caisse.auth.bootstrap")
SYSTEM = Principal(subject="system", permissions=frozenset({"*"}))
_BOOTSTRAP_LOCK = 7_301_002
DEMO_ADMIN = "admin"


async def create_admin(
    kit: AuthKit, session: AsyncSession, username: str, password: str | None, actor: str = "system"
) -> str | None:
    """Create a platform administrator; returns the generated password if none was given."""
    _, generated = await create_user(
        kit,
        session,
        SYSTEM,
        NewUser(
            username=normalise_username(username),
            password=password,
            full_name="Platform administrator",
            roles=("platform_admin",),
        ),
        Origin(actor=actor),
        utcnow(),
    )
    return generated


async def rotate_keys(kit: AuthKit, session: AsyncSession, origin: Origin) -> str:
    """Rotate the signing key, audited; returns the new kid."""
    kid = await kit.ring.rotate(session, utcnow())
    await audit.record(session, audit.AuditEntry("KEY_ROTATED", "success", target=f"kid:{kid}"), origin)
    return kid


async def _demo_admin(kit: AuthKit, session: AsyncSession) -> str | None:
    """In development only, and only while no user exists: the ``admin`` account."""
    if kit.settings.environment != "development":
        return None
    if await UserRepository(session).count() > 0:
        return None
    given = kit.settings.admin_password
    password = given.get_secret_value() if given else secrets.token_urlsafe(12) + "aA1!"
    await create_admin(kit, session, DEMO_ADMIN, password, actor="bootstrap")
    return None if given else password


async def startup(kit: AuthKit) -> None:
    """Idempotent start-up work, serialized across replicas by an advisory lock."""
    async with kit.database.unit_of_work() as session:
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _BOOTSTRAP_LOCK})
        await sync_catalogue(session)
        await kit.ring.ensure(session, utcnow())
        printed = await _demo_admin(kit, session)
    await kit.ring.refresh(force=True)
    if printed:
        # Shown once, on purpose on stdout: the newcomer needs it to sign in the first time.
        banner = "=" * 64
        print(
            f"\n{banner}\n  Caisse demo administrator (development only)\n"
            f"  username: {DEMO_ADMIN}\n  password: {printed}\n"
            f"  (set CAISSE_ADMIN_PASSWORD to choose it)\n{banner}\n",
            flush=True,
        )
