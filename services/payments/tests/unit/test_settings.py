"""Settings: development secrets refuse to start outside development; networks must parse."""

from __future__ import annotations

import pytest
from caisse_payments.config import Settings
from pydantic import ValidationError


def test_dev_secrets_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="development default"):
        Settings(environment="production")


STRONG = dict.fromkeys(
    (
        "kkiapay_webhook_secret",
        "mtn_momo_webhook_secret",
        "moov_webhook_secret",
        "bank_transfer_webhook_secret",
        "notification_secret",
        "receipt_secret",
        "kkiapay_api_key",
    ),
    "x" * 40,
)


def test_real_secrets_and_provider_accepted_in_production() -> None:
    settings = Settings(environment="production", provider="kkiapay", **STRONG)
    assert settings.environment == "production"


@pytest.mark.parametrize("environment", ["test", "staging", "production"])
def test_sandbox_provider_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match="provider 'sandbox' is for development only"):
        Settings(environment=environment, **STRONG)  # the default provider is the sandbox
    with pytest.raises(ValidationError, match="provider 'sandbox' is for development only"):
        Settings(environment=environment, provider="sandbox", **STRONG)


def test_dev_secrets_refused_in_test_environment() -> None:
    with pytest.raises(ValidationError, match="development default"):
        Settings(environment="test", provider="kkiapay")


def test_delivery_retention_must_outlive_the_replay_window() -> None:
    with pytest.raises(ValidationError, match="2 x webhook_tolerance_s"):
        Settings(webhook_tolerance_s=300, webhook_delivery_retention_s=599)
    assert (
        Settings(webhook_tolerance_s=300, webhook_delivery_retention_s=600).webhook_delivery_retention_s
        == 600
    )


def test_bad_networks_fail_at_startup() -> None:
    with pytest.raises(ValidationError, match="not an IP network"):
        Settings(webhook_trusted_proxies=["10.0.0.0/33"])
    with pytest.raises(ValidationError, match="not an IP network"):
        Settings(webhook_ip_allowlist={"moov": ["nope"]})
