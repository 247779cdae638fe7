"""Everything the use cases need besides the DB session, built once per app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from caisse_shared.db import Database

from caisse_auth.config import Settings
from caisse_auth.domain.passwords import Argon2Params, Passwords
from caisse_auth.domain.throttle import ThrottlePolicy
from caisse_auth.services.directory import LdapDirectory
from caisse_auth.services.keyring import KeyRing, RingVerifier


@dataclass
class AuthKit:
    """Settings, password hasher, key ring, throttling policy and the optional directory."""

    settings: Settings
    database: Database
    passwords: Passwords
    ring: KeyRing
    policy: ThrottlePolicy
    directory: LdapDirectory | None
    verifier: RingVerifier

    @classmethod
    def build(cls, settings: Settings, database: Database) -> AuthKit:
        """Build the kit from settings."""
        params = Argon2Params(
            settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
        )
        policy = ThrottlePolicy(
            max_failures=settings.max_failed_logins,
            lockout=timedelta(minutes=settings.lockout_minutes),
            ip_max_attempts=settings.ip_max_attempts,
            ip_window=timedelta(seconds=settings.ip_window_s),
        )
        directory = LdapDirectory.from_settings(settings) if settings.ldap_enabled else None
        ring = KeyRing(settings, database)
        return cls(
            settings,
            database,
            Passwords(params, settings.min_password_length),
            ring,
            policy,
            directory,
            RingVerifier(ring, settings),
        )
