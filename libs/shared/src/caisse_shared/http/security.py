"""Local verification of auth's RS256 access tokens (JWKS with caching) and permission checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jose import JWTError, jwk, jwt
from jose.exceptions import ExpiredSignatureError

from caisse_shared.errors import Forbidden, Unauthorized

ALLOWED_ALGORITHMS = ("RS256",)
# Set by auth on the tokens of a user who must change their password first (after an admin
# reset): such a token opens no endpoint that declares a permission.
PASSWORD_CHANGE_CLAIM = "password_change_required"


class PasswordChangeRequired(Forbidden):
    """The token only allows changing the password and logging out."""

    title, code = "Password change required", "password_change_required"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: subject, permissions and data scope (institution / agency)."""

    subject: str
    permissions: frozenset[str] = frozenset()
    roles: tuple[str, ...] = ()
    institution_id: str | None = None
    agency_id: str | None = None
    token_id: str | None = None
    client_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has(self, permission: str) -> bool:
        """True if the permission (or a ``domain:*`` wildcard, or ``*``) is granted."""
        if permission in self.permissions or "*" in self.permissions:
            return True
        domain = permission.split(":", 1)[0]
        return f"{domain}:*" in self.permissions

    def can_see_institution(self, institution_id: str | None) -> bool:
        """Platform-wide principals (no institution claim) see all; others only their own."""
        return self.institution_id is None or self.institution_id == institution_id

    @property
    def must_change_password(self) -> bool:
        """True for a token that only allows changing the password and logging out."""
        return self.claims.get(PASSWORD_CHANGE_CLAIM) is True


class TokenVerifier:
    """Verifies RS256 JWTs against a set of public JWKs, refreshed from a JWKS URL when unknown."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        keys: list[dict[str, Any]] | None = None,
        cache_ttl_s: float = 300.0,
        min_refresh_interval_s: float = 5.0,
        revocation_check: Callable[[dict[str, Any]], Awaitable[bool]] | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.cache_ttl_s = cache_ttl_s
        self.min_refresh_interval_s = min_refresh_interval_s
        self.revocation_check = revocation_check
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        if keys:
            self.set_keys(keys)

    def set_keys(self, keys: list[dict[str, Any]]) -> None:
        """Replace the cached key set (only RSA signing keys with a kid are kept)."""
        self._keys = {k["kid"]: k for k in keys if k.get("kty") == "RSA" and k.get("kid")}
        self._fetched_at = time.monotonic()

    async def _refresh(self, *, force: bool) -> None:
        if not self.jwks_url:
            return
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if (not force and age < self.cache_ttl_s) or (force and age < self.min_refresh_interval_s):
                return
            try:
                async with httpx.AsyncClient(timeout=5.0) as client:
                    resp = await client.get(self.jwks_url)
                    resp.raise_for_status()
                    self.set_keys(resp.json().get("keys", []))
            except (httpx.HTTPError, ValueError):
                self._fetched_at = time.monotonic()  # back off; keep the keys we have

    async def _key_for(self, kid: str) -> dict[str, Any]:
        await self._refresh(force=False)
        if kid not in self._keys:
            await self._refresh(force=True)  # rotation: a new kid appeared
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthorized("unknown signing key") from None

    async def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid access token, or raise Unauthorized."""
        try:
            header = jwt.get_unverified_header(token)
        except JWTError:
            raise Unauthorized("malformed token") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise Unauthorized("token algorithm not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("token has no key id")
        key = await self._key_for(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                jwk.construct(key, algorithm="RS256"),
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                options={"require_exp": True, "require_iat": True, "require_sub": True},
            )
        except ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except JWTError:
            raise Unauthorized("invalid token") from None
        if claims.get("typ", "access") != "access":
            raise Unauthorized("not an access token")
        if self.revocation_check is not None and await self.revocation_check(claims):
            raise Unauthorized("token revoked")
        return claims


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Build a Principal from verified claims."""
    perms = claims.get("permissions") or []
    roles = claims.get("roles") or []
    return Principal(
        subject=str(claims["sub"]),
        permissions=frozenset(str(p) for p in perms if isinstance(p, str)),
        roles=tuple(str(r) for r in roles if isinstance(r, str)),
        institution_id=claims.get("institution_id"),
        agency_id=claims.get("agency_id"),
        token_id=claims.get("jti"),
        client_id=claims.get("client_id"),
        claims=claims,
    )


_bearer = HTTPBearer(auto_error=False)


def get_verifier(request: Request) -> TokenVerifier:
    """The app's verifier, installed on ``app.state.token_verifier`` by the app factory."""
    verifier = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise RuntimeError("no token verifier configured on app.state")
    return verifier  # type: ignore[no-any-return]


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller (401 without a valid bearer token)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token")
    claims = await get_verifier(request).verify(credentials.credentials)
    principal = principal_from_claims(claims)
    request.state.principal = principal
    return principal


def require(permission: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller must hold ``permission`` (401 without token, 403 without it)."""

    async def checker(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        # Checked before the permission: such a token is refused even if it carried one.
        if principal.must_change_password:
            raise PasswordChangeRequired("change your password first: this token allows nothing else")
        if not principal.has(permission):
            raise Forbidden(f"permission {permission!r} required")
        return principal

    checker.__name__ = f"require_{permission.replace(':', '_')}"
    checker.required_permission = permission  # type: ignore[attr-defined]
    return checker
