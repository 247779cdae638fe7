"""Pure domain rules: passwords, keys, throttling, roles, token claims, usernames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from caisse_auth.domain import keys as K
from caisse_auth.domain import throttle as TH
from caisse_auth.domain.passwords import Argon2Params, PasswordPolicyError, Passwords
from caisse_auth.domain.roles import SYSTEM_ROLES, covers, grants, valid_permission
from caisse_auth.domain.tokens import Identity, access_claims, new_refresh_token, same_hash, token_hash
from caisse_auth.domain.users import InvalidUsername, normalise_username
from caisse_shared.permissions import CATALOGUE

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PW = Passwords(Argon2Params(time_cost=1, memory_kib=1024), min_length=10)


def test_password_hash_and_verify() -> None:
    h = PW.hash("Correct-Horse-1")
    assert h.startswith("$argon2id$")
    assert PW.verify(h, "Correct-Horse-1")
    assert not PW.verify(h, "correct-horse-1")
    assert not PW.verify(None, "Correct-Horse-1")  # unknown user: still False
    assert not PW.verify("not-a-hash", "x")


@pytest.mark.parametrize(
    "weak", ["short1!", "alllowercaseletters", "ALLUPPER123456", "a" * 300, "Has\x00Nul-123"]
)
def test_password_policy(weak: str) -> None:
    with pytest.raises(PasswordPolicyError):
        PW.hash(weak)


def test_rehash_when_parameters_change() -> None:
    stronger = Passwords(Argon2Params(time_cost=2, memory_kib=2048))
    assert stronger.needs_rehash(PW.hash("Correct-Horse-1"))


def test_private_key_encryption_roundtrip_and_tamper() -> None:
    key = K.generate_key("kek-secret", NOW)
    assert K.decrypt_private(key.encrypted_private, key.kid, "kek-secret") == key.private_pem
    with pytest.raises(K.KeyDecryptionError):
        K.decrypt_private(key.encrypted_private, key.kid, "other-secret")
    with pytest.raises(K.KeyDecryptionError):
        K.decrypt_private(key.encrypted_private, "another-kid", "kek-secret")  # bound to kid
    tampered = key.encrypted_private[:-1] + bytes([key.encrypted_private[-1] ^ 1])
    with pytest.raises(K.KeyDecryptionError):
        K.decrypt_private(tampered, key.kid, "kek-secret")
    assert set(key.public_jwk) == {"kty", "kid", "use", "alg", "n", "e"}


def test_key_publication_window_and_rotation() -> None:
    assert K.published_until(NOW, 900, 60) == NOW + timedelta(seconds=960)
    assert K.rotation_due(NOW - timedelta(days=31), NOW, 30)
    assert not K.rotation_due(NOW - timedelta(days=29), NOW, 30)


def test_lockout_after_max_failures_and_expiry() -> None:
    policy = TH.ThrottlePolicy(max_failures=3, lockout=timedelta(minutes=15))
    c = None
    for _ in range(2):
        c = TH.after_failure(c, NOW, policy)
        assert TH.locked(c, NOW) is None
    c = TH.after_failure(c, NOW, policy)
    assert TH.locked(c, NOW) == NOW + timedelta(minutes=15)
    assert TH.locked(c, NOW + timedelta(minutes=16)) is None
    fresh = TH.after_failure(c, NOW + timedelta(minutes=16), policy)
    assert fresh.count == 1  # window expired: counting restarts


def test_address_rate_limit_window() -> None:
    policy = TH.ThrottlePolicy(ip_max_attempts=2, ip_window=timedelta(seconds=60))
    c = None
    for _ in range(2):
        c = TH.after_attempt(c, NOW, policy)
    assert c is not None
    assert not TH.over_limit(c, policy)
    c = TH.after_attempt(c, NOW + timedelta(seconds=5), policy)
    assert TH.over_limit(c, policy)
    assert TH.retry_after(c, NOW + timedelta(seconds=5), policy) == 56
    assert TH.after_attempt(c, NOW + timedelta(seconds=61), policy).count == 1


def test_permission_algebra() -> None:
    assert grants(frozenset({"*"}), "payments:read")
    assert grants(frozenset({"payments:*"}), "payments:reverse")
    assert not grants(frozenset({"payments:*"}), "movements:read")
    assert covers(frozenset({"payments:*"}), frozenset({"payments:read", "payments:*"}))
    assert not covers(frozenset({"payments:*"}), frozenset({"*"}))
    catalogue = frozenset(CATALOGUE)
    assert valid_permission("collection:*", catalogue)
    assert not valid_permission("nosuch:*", catalogue)
    assert not valid_permission("payments:fly", catalogue)


def test_system_roles_use_only_catalogue_permissions() -> None:
    catalogue = frozenset(CATALOGUE)
    for role in SYSTEM_ROLES:
        assert all(valid_permission(p, catalogue) for p in role.permissions), role.name
    names = {r.name for r in SYSTEM_ROLES}
    assert {
        "platform_admin",
        "sfd_admin",
        "sfd_supervisor",
        "sfd_agent",
        "client",
        "operation",
        "finance",
        "admin",
    } <= names


def test_role_hierarchy_of_source_001() -> None:
    by = {r.name: r.permissions for r in SYSTEM_ROLES}
    assert by["sfd_agent"] < by["sfd_supervisor"] < by["sfd_admin"]
    assert by["platform_admin"] == {"*"}


def test_access_claims_contract() -> None:
    ident = Identity(
        subject="u1",
        permissions=frozenset({"b", "a"}),
        roles=("client",),
        username="u",
        institution_id="sfd-1",
        session_id="s1",
    )
    c = access_claims(ident, issuer="caisse-auth", audience="caisse", now=NOW, ttl_s=900)
    assert c["exp"] - c["iat"] == 900
    assert c["permissions"] == ["a", "b"]
    assert c["typ"] == "access"
    assert c["institution_id"] == "sfd-1"
    assert c["sid"] == "s1"
    assert "agency_id" not in c
    assert "client_id" not in c


def test_refresh_tokens_are_random_and_hashed() -> None:
    a, b = new_refresh_token(), new_refresh_token()
    assert a != b
    assert len(token_hash(a)) == 64
    assert same_hash(token_hash(a), a)
    assert not same_hash(token_hash(a), b)


@pytest.mark.parametrize(("raw", "expected"), [(" Kofi.M ", "kofi.m"), ("a@b-c_d", "a@b-c_d")])
def test_username_normalisation(raw: str, expected: str) -> None:
    assert normalise_username(raw) == expected


@pytest.mark.parametrize("bad", ["", "-x", "a b", "a*", "x" * 151, "é", "a\x00"])
def test_username_syntax(bad: str) -> None:
    with pytest.raises(InvalidUsername):
        normalise_username(bad)
