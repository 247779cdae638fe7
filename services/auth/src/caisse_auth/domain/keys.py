"""RSA signing keys: generation, encryption of the private half at rest, public JWKs."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12


class KeyDecryptionError(ValueError):
    """A stored private key cannot be decrypted (wrong key-encryption secret or tampering)."""


def _b64u(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _kek(secret: str) -> bytes:
    """A 256-bit key-encryption key derived from the configured secret."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"caisse-auth-signing-keys", info=b"kek-v1"
    ).derive(secret.encode())


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """A fresh key pair: kid, public JWK and encrypted private key."""

    kid: str
    public_jwk: dict[str, Any]
    private_pem: str
    encrypted_private: bytes


def public_jwk(key: rsa.RSAPublicKey, kid: str) -> dict[str, Any]:
    """RFC 7517 JWK of an RSA public key."""
    nums = key.public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": _b64u(nums.n), "e": _b64u(nums.e)}


def encrypt_private(pem: str, kid: str, secret: str) -> bytes:
    """AES-256-GCM of the PEM, bound to its kid (nonce || ciphertext)."""
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(_kek(secret)).encrypt(nonce, pem.encode(), kid.encode())


def decrypt_private(blob: bytes, kid: str, secret: str) -> str:
    """The PEM back from :func:`encrypt_private`."""
    try:
        return AESGCM(_kek(secret)).decrypt(blob[:_NONCE], blob[_NONCE:], kid.encode()).decode()
    except Exception as exc:  # InvalidTag or truncated data
        raise KeyDecryptionError(f"cannot decrypt signing key {kid}") from exc


def generate_key(secret: str, now: datetime, bits: int = 2048) -> GeneratedKey:
    """A new RS256 key pair with a date-stamped kid."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    kid = f"{now:%Y%m%d}-{secrets.token_hex(4)}"
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return GeneratedKey(kid, public_jwk(key.public_key(), kid), pem, encrypt_private(pem, kid, secret))


def published_until(retired_at: datetime, access_ttl_s: int, skew_s: int) -> datetime:
    """A retired key stays in the JWKS until every token it signed has expired."""
    return retired_at + timedelta(seconds=access_ttl_s + skew_s)


def rotation_due(activated_at: datetime, now: datetime, rotation_days: float) -> bool:
    """True when the active key is older than the rotation period."""
    return now - activated_at >= timedelta(days=rotation_days)
