"""Settings of the auth service (env prefix ``CAISSE_AUTH_``)."""

from __future__ import annotations

from typing import ClassVar, Self

from caisse_shared.config import ServiceSettings
from caisse_shared.http.net import check_networks
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """Token lifetimes, key encryption, login throttling, argon2 cost, LDAP provider."""

    model_config = SettingsConfigDict(
        env_prefix="CAISSE_AUTH_", extra="ignore", env_file=None, populate_by_name=True
    )

    service_name: ClassVar[str] = "auth"
    db_schema: ClassVar[str] = "auth"

    # Signing keys: the private half is stored encrypted with a key derived from this secret.
    key_encryption_secret: SecretStr = SecretStr("development-only-secret")
    key_rotation_days: float = 30.0
    key_reload_interval_s: float = 60.0

    access_token_ttl_s: int = Field(default=900, ge=30, le=3600)
    refresh_token_ttl_s: int = Field(default=7 * 24 * 3600, ge=300)
    client_token_ttl_s: int = Field(default=900, ge=30, le=3600)
    clock_skew_s: int = 60

    # Throttling: failures per username lock it; attempts per client address are rate limited.
    max_failed_logins: int = Field(default=5, ge=1)
    lockout_minutes: float = 15.0
    ip_max_attempts: int = Field(default=60, ge=1)
    ip_window_s: float = 60.0
    # Reverse proxies (CIDR list) whose X-Forwarded-For is believed: only when the direct peer is
    # one of them is the client address the right-most forwarded hop that is not one of them.
    trusted_proxies: list[str] = []
    # Retired (it believed the first hop, which the caller writes): refused, see trusted_proxies.
    trust_forwarded_for: bool = False

    # argon2id cost (OWASP minimum: m=19 MiB, t=2, p=1).
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19_456
    argon2_parallelism: int = 1
    min_password_length: int = 10

    # Demo administrator (development only).
    admin_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("CAISSE_ADMIN_PASSWORD", "CAISSE_AUTH_ADMIN_PASSWORD"),
    )

    # LDAP / Active Directory provider.
    ldap_enabled: bool = False
    ldap_url: str = "ldap://127.0.0.1:389"
    ldap_bind_dn: str = ""
    ldap_bind_password: SecretStr | None = None
    ldap_user_base_dn: str = ""
    ldap_user_filter: str = "(uid={username})"  # AD: (sAMAccountName={username})
    ldap_group_base_dn: str = ""
    ldap_group_filter: str = "(member={user_dn})"
    ldap_email_attribute: str = "mail"
    ldap_name_attribute: str = "cn"  # AD: displayName
    ldap_group_role_map: dict[str, list[str]] = Field(default_factory=dict)
    ldap_timeout_s: float = 5.0
    ldap_start_tls: bool = False

    @model_validator(mode="after")
    def _proxies(self) -> Self:
        """A mistyped CIDR, or the retired boolean, fails at start-up rather than throttling wrong."""
        if self.trust_forwarded_for:
            raise ValueError(
                "CAISSE_AUTH_TRUST_FORWARDED_FOR is retired: list the reverse proxies whose "
                "X-Forwarded-For is believed in CAISSE_AUTH_TRUSTED_PROXIES (JSON CIDR list)"
            )
        check_networks(self.trusted_proxies)
        return self
