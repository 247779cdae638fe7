"""Signing-key ring: signs access tokens, publishes the JWKS, rotates keys, verifies locally."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from caisse_shared.db import Database
from caisse_shared.events.envelope import utcnow
from caisse_shared.http.security import TokenVerifier
from jose import jwk, jwt
from jose.backends.base import Key
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.config import Settings
from caisse_auth.db.models import SigningKey
from caisse_auth.db.token_store import KeyStore
from caisse_auth.domain import keys as K

# pg_advisory_xact_lock id: key creation/rotation is serialized across replicas.
_KEY_LOCK = 7_301_001


class NoSigningKey(RuntimeError):
    """The ring has no active key (startup did not run ``ensure``)."""


class KeyRing:
    """In-memory view of the signing keys, reloaded from the database when stale."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self._secret = settings.key_encryption_secret.get_secret_value()
        self._active: tuple[str, Key] | None = None
        self._public: list[dict[str, Any]] = []
        self._loaded_at = -1e9
        self._stale = True
        self._lock = asyncio.Lock()

    def _load_rows(self, rows: list[SigningKey]) -> None:
        active = next((r for r in rows if r.retired_at is None), None)
        if active is not None:
            pem = K.decrypt_private(active.private_key_enc, active.kid, self._secret)
            self._active = (active.kid, jwk.construct(pem, algorithm="RS256"))
        self._public = [dict(r.public_jwk) for r in rows]
        self._loaded_at = time.monotonic()
        self._stale = False

    async def load(self, session: AsyncSession, now: datetime | None = None) -> None:
        """Read the published keys through ``session``."""
        rows = list(await KeyStore(session).published(now or utcnow()))
        self._load_rows(rows)

    async def refresh(self, *, force: bool = False) -> None:
        """Reload from the database when marked stale, forced, or older than the interval."""
        age = time.monotonic() - self._loaded_at
        if not (force or self._stale or age > self.settings.key_reload_interval_s):
            return
        async with self._lock:
            age = time.monotonic() - self._loaded_at
            if not (force or self._stale or age > self.settings.key_reload_interval_s):
                return
            async with self.database.sessionmaker() as session:
                await self.load(session)

    async def ensure(self, session: AsyncSession, now: datetime) -> str:
        """Create the first key, or rotate one past its period; returns the active kid."""
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _KEY_LOCK})
        active = await KeyStore(session).active(for_update=True)
        if active is None or K.rotation_due(active.activated_at, now, self.settings.key_rotation_days):
            return await self._rotate_locked(session, now)
        return active.kid

    async def rotate(self, session: AsyncSession, now: datetime) -> str:
        """Retire the active key (still published until its tokens expire) and add a new one."""
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _KEY_LOCK})
        return await self._rotate_locked(session, now)

    async def _rotate_locked(self, session: AsyncSession, now: datetime) -> str:
        store = KeyStore(session)
        current = await store.active(for_update=True)
        if current is not None:
            current.retired_at = now
            current.publish_until = K.published_until(
                now, self.settings.access_token_ttl_s, self.settings.clock_skew_s
            )
        new = await asyncio.to_thread(K.generate_key, self._secret, now)
        await store.add(
            SigningKey(
                kid=new.kid,
                public_jwk=new.public_jwk,
                private_key_enc=new.encrypted_private,
                activated_at=now,
            )
        )
        self._stale = True  # picked up (after commit) by the next refresh
        return new.kid

    async def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 JWT of ``claims`` with the active key's kid in its header."""
        await self.refresh()
        if self._active is None:
            raise NoSigningKey("no active signing key")
        kid, key = self._active
        return str(jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid}))

    async def jwks(self) -> dict[str, Any]:
        """The JWKS document: active key first, then retired keys still in use."""
        await self.refresh()
        return {"keys": list(self._public)}

    @property
    def loaded_at(self) -> float:
        """Monotonic time of the last load."""
        return self._loaded_at

    @property
    def public_keys(self) -> list[dict[str, Any]]:
        """Published public JWKs as last loaded."""
        return list(self._public)


class RingVerifier(TokenVerifier):
    """The shared verifier fed from the key ring instead of an HTTP JWKS fetch."""

    def __init__(
        self,
        ring: KeyRing,
        settings: Settings,
        revocation_check: Callable[[dict[str, Any]], Awaitable[bool]] | None = None,
    ) -> None:
        super().__init__(
            issuer=settings.jwt_issuer, audience=settings.jwt_audience, revocation_check=revocation_check
        )
        self.ring = ring
        self._seen = -1.0

    async def _refresh(self, *, force: bool) -> None:
        await self.ring.refresh(force=force and self._may_force())
        if self.ring.loaded_at != self._seen:
            self.set_keys(self.ring.public_keys)
            self._seen = self.ring.loaded_at

    def _may_force(self) -> bool:
        """An unknown kid forces a reload at most every few seconds (no DB hammering)."""
        return time.monotonic() - self.ring.loaded_at >= self.min_refresh_interval_s
