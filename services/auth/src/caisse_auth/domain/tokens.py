"""Access-token claims, opaque refresh tokens and client secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

REFRESH_PREFIX = "rt_"
CLIENT_SECRET_PREFIX = "cs_"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a token is for: a user (with session) or an OAuth2 client."""

    subject: str
    permissions: frozenset[str]
    roles: tuple[str, ...] = ()
    username: str | None = None
    institution_id: str | None = None
    agency_id: str | None = None
    client_id: str | None = None
    session_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def access_claims(
    identity: Identity, *, issuer: str, audience: str, now: datetime, ttl_s: int
) -> dict[str, Any]:
    """The claims of an access token (the contract read by the shared verifier)."""
    iat = int(now.timestamp())
    claims: dict[str, Any] = {
        "sub": identity.subject,
        "iss": issuer,
        "aud": audience,
        "iat": iat,
        "nbf": iat,
        "exp": iat + ttl_s,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "permissions": sorted(identity.permissions),
        "roles": list(identity.roles),
    }
    optional = {
        "preferred_username": identity.username,
        "institution_id": identity.institution_id,
        "agency_id": identity.agency_id,
        "client_id": identity.client_id,
        "sid": identity.session_id,
    }
    claims.update({k: v for k, v in optional.items() if v is not None})
    claims.update(identity.extra)
    return claims


def new_refresh_token() -> str:
    """An opaque, unguessable refresh token (only its hash is stored)."""
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def new_client_secret() -> str:
    """An OAuth2 client secret (shown once; only its hash is stored)."""
    return CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy token (fast lookup; no need for a slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(stored: str, token: str) -> bool:
    """Constant-time comparison of a stored hash with a presented token."""
    return hmac.compare_digest(stored, token_hash(token))
