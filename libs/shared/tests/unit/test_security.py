"""Token verification refuses every classic forgery."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from caisse_shared.errors import Unauthorized
from caisse_shared.http.security import (
    PasswordChangeRequired,
    Principal,
    principal_from_claims,
    require,
)
from caisse_shared.testing.tokens import TokenFactory


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory()


def _b64(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


async def test_valid_token_gives_principal(tokens: TokenFactory) -> None:
    claims = await tokens.verifier().verify(tokens.token("payments:read", institution_id="SFD-1"))
    p = principal_from_claims(claims)
    assert p.has("payments:read") and not p.has("payments:create")
    assert p.institution_id == "SFD-1"


async def test_expired_token_refused(tokens: TokenFactory) -> None:
    with pytest.raises(Unauthorized, match="expired"):
        await tokens.verifier().verify(tokens.token("x", ttl_s=-10))


async def test_alg_none_refused(tokens: TokenFactory) -> None:
    now = int(time.time())
    forged = (
        _b64({"alg": "none", "kid": tokens.kid})
        + "."
        + _b64(
            {
                "sub": "x",
                "iss": tokens.issuer,
                "aud": tokens.audience,
                "iat": now,
                "exp": now + 60,
                "permissions": ["*"],
            }
        )
        + "."
    )
    with pytest.raises(Unauthorized):
        await tokens.verifier().verify(forged)


async def test_hs256_signed_with_public_key_refused(tokens: TokenFactory) -> None:
    now = int(time.time())
    claims = {"sub": "x", "iss": tokens.issuer, "aud": tokens.audience, "iat": now, "exp": now + 60}
    signing_input = _b64({"alg": "HS256", "typ": "JWT", "kid": tokens.kid}) + "." + _b64(claims)
    mac = hmac.new(tokens.public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    forged = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        await tokens.verifier().verify(forged)


async def test_tampered_signature_unknown_kid_wrong_audience(tokens: TokenFactory) -> None:
    good = tokens.token("a")
    head, body, sig = good.split(".")
    with pytest.raises(Unauthorized):
        await tokens.verifier().verify(f"{head}.{body}.{sig[:-4]}AAAA")
    other = TokenFactory()
    with pytest.raises(Unauthorized, match="unknown signing key"):
        await tokens.verifier().verify(other.token("a"))
    with pytest.raises(Unauthorized):
        await tokens.verifier().verify(TokenFactory(audience="elsewhere", kid=tokens.kid).token("a"))


async def test_refresh_token_is_not_an_access_token(tokens: TokenFactory) -> None:
    with pytest.raises(Unauthorized, match="not an access token"):
        await tokens.verifier().verify(tokens.token("a", typ="refresh"))


def test_wildcards() -> None:
    assert Principal("u", frozenset({"payments:*"})).has("payments:create")
    assert Principal("u", frozenset({"*"})).has("anything:at:all")
    assert not Principal("u", frozenset({"payments:*"})).has("movements:read")
    assert Principal("u", institution_id="A").can_see_institution("A")
    assert not Principal("u", institution_id="A").can_see_institution("B")


async def test_require_refuses_a_token_awaiting_a_password_change(tokens: TokenFactory) -> None:
    claims = await tokens.verifier().verify(tokens.token("payments:read", password_change_required=True))
    with pytest.raises(PasswordChangeRequired) as caught:
        await require("payments:read")(principal_from_claims(claims))
    assert caught.value.status == 403 and caught.value.code == "password_change_required"
    normal = principal_from_claims(await tokens.verifier().verify(tokens.token("payments:read")))
    assert not normal.must_change_password
    assert await require("payments:read")(normal) is normal
