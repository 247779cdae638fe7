"""Settings of the payments service (env prefix ``CAISSE_PAYMENTS_``)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal, Self

from caisse_shared.config import ServiceSettings
from caisse_shared.http.net import check_networks
from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

SCHEMA = "payments"


class Settings(ServiceSettings):
    """Payments settings; webhook secrets default to dev values refused outside development."""

    model_config = SettingsConfigDict(
        env_prefix="CAISSE_PAYMENTS_", extra="ignore", env_file=None, populate_by_name=True
    )
    service_name: ClassVar[str] = "payments"
    db_schema: ClassVar[str] = SCHEMA

    db_pool_size: int = 10
    # Webhook intake statements one worker runs at once (0 = no limit); the rest wait in the
    # worker. On 2 cores, 32 at once convoyed on PostgreSQL's hot index pages (p99 ~1.5x).
    webhook_db_concurrency: int = 8
    # A pooled connection idle this long is pinged at checkout (busy ones are known alive).
    db_ping_idle_s: float = 5.0
    # Per-channel HMAC secrets (KKiaPay-style aggregator, MTN MoMo, Moov, bank transfer, partners).
    kkiapay_webhook_secret: SecretStr = SecretStr("dev-secret")
    mtn_momo_webhook_secret: SecretStr = SecretStr("dev-secret")
    moov_webhook_secret: SecretStr = SecretStr("dev-secret")
    bank_transfer_webhook_secret: SecretStr = SecretStr("dev-secret")
    notification_secret: SecretStr = SecretStr("dev-secret")
    receipt_secret: SecretStr = SecretStr("dev-secret")
    webhook_tolerance_s: int = 300
    # Replay-guard rows (signed deliveries seen) are purged after this long. A delivery can be
    # replayed while its timestamp is within ±tolerance: rows must outlive 2 x tolerance.
    webhook_delivery_retention_s: float = 24 * 3600.0
    # How often the scheduler purges them (0 = never; the CLI's purge-deliveries still works).
    webhook_delivery_purge_interval_s: float = 3600.0
    # Optional IP allowlist per channel (CIDR list); empty = any source.
    webhook_ip_allowlist: dict[str, list[str]] = {}
    # Reverse proxies (CIDR list) whose X-Forwarded-For is believed: only when the direct peer is
    # one of them does the allowlist check the right-most forwarded address that is not.
    webhook_trusted_proxies: list[str] = []
    # A provider's payment date before the floor, or more than max_ahead after reception, is
    # not believed: the payment is dated when received and flagged for review. Ahead: a day
    # covers every time zone and a provider clock somewhat off.
    payment_date_floor: date = date(2000, 1, 1)
    payment_date_max_ahead_s: float = 24 * 3600.0
    allocation_order: tuple[str, ...] = ("PENALTIES", "INTEREST", "PRINCIPAL")
    # Outbound aggregator used by initiate / check-status. The sandbox answers SUCCESS without
    # any aggregator: refused outside development (deployments must name the real one).
    provider: Literal["sandbox", "kkiapay"] = "sandbox"
    kkiapay_base_url: str = "https://api.kkiapay.me"
    kkiapay_api_key: SecretStr = SecretStr("dev-secret")
    provider_timeout_s: float = 10.0
    consume_loans: bool = True
    loans_topic: str = "banksync.loan.updated"
    loans_group: str = "payments-loans"
    reconciliation_schedule_enabled: bool = True
    reconciliation_interval_s: float = 24 * 3600.0
    reconciliation_date_tolerance_days: int = 1

    @model_validator(mode="after")
    def _networks_parse(self) -> Self:
        """A mistyped CIDR fails at startup, not as a 500 on the first webhook."""
        check_networks(
            [*self.webhook_trusted_proxies, *(n for v in self.webhook_ip_allowlist.values() for n in v)]
        )
        return self

    @model_validator(mode="after")
    def _sandbox_only_in_development(self) -> Self:
        """The sandbox provider (and its sandbox-test endpoint) would mark money as received."""
        if self.provider == "sandbox" and not self.is_development:
            raise ValueError(
                f"provider 'sandbox' is for development only, not {self.environment}: "
                "set CAISSE_PAYMENTS_PROVIDER to the real aggregator (kkiapay)"
            )
        return self

    @model_validator(mode="after")
    def _retention_outlives_replay_window(self) -> Self:
        """A shorter retention would forget deliveries that can still be replayed."""
        if self.webhook_delivery_retention_s < 2 * self.webhook_tolerance_s:
            raise ValueError(
                "webhook_delivery_retention_s must be at least 2 x webhook_tolerance_s "
                f"({2 * self.webhook_tolerance_s} s): a younger delivery can still be replayed"
            )
        return self
