"""Test helper: an RSA key pair that mints access tokens the shared verifier accepts."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from caisse_shared.http.security import TokenVerifier


@dataclass
class TokenFactory:
    """Mint RS256 tokens with chosen permissions and scope (tests and benchmarks only)."""

    issuer: str = "caisse-auth"
    audience: str = "caisse"
    kid: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}")

    def __post_init__(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        public = jwk.construct(public_pem, algorithm="RS256").to_dict()
        self.public_jwk: dict[str, Any] = {
            **{k: (v.decode() if isinstance(v, bytes) else v) for k, v in public.items()},
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
        }
        self.public_pem = public_pem
        # parsed once: loading the PEM (with its key checks) on every token cost ~60 ms a token
        self._signing_key = jwk.construct(self.private_pem, algorithm="RS256")

    def jwks(self) -> dict[str, Any]:
        """The JWKS document for this key."""
        return {"keys": [self.public_jwk]}

    def verifier(self) -> TokenVerifier:
        """A verifier that trusts this key."""
        return TokenVerifier(issuer=self.issuer, audience=self.audience, keys=[self.public_jwk])

    def token(
        self,
        *permissions: str,
        sub: str = "user-1",
        ttl_s: int = 300,
        institution_id: str | None = None,
        agency_id: str | None = None,
        roles: tuple[str, ...] = (),
        **extra: Any,
    ) -> str:
        """An access token carrying ``permissions``."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": sub,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
            "typ": "access",
            "permissions": list(permissions),
            "roles": list(roles),
        }
        if institution_id is not None:
            claims["institution_id"] = institution_id
        if agency_id is not None:
            claims["agency_id"] = agency_id
        claims.update(extra)
        return str(jwt.encode(claims, self._signing_key, algorithm="RS256", headers={"kid": self.kid}))

    def headers(self, *permissions: str, **kw: Any) -> dict[str, str]:
        """``Authorization: Bearer …`` headers for ``permissions``."""
        return {"Authorization": f"Bearer {self.token(*permissions, **kw)}"}
