"""Proxy-aware caller address for the webhook IP allowlist."""

from __future__ import annotations

import pytest
from caisse_payments.config import Settings
from caisse_payments.services import webhooks
from pydantic import ValidationError

TRUSTED = ["10.0.0.0/8", "192.0.2.1/32"]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        ("198.51.100.9", None, "198.51.100.9"),  # no header: the peer
        ("198.51.100.9", "203.0.113.5", "198.51.100.9"),  # untrusted peer: its header is ignored
        ("192.0.2.1", "203.0.113.5", "203.0.113.5"),  # trusted proxy: the address it saw
        ("192.0.2.1", "203.0.113.5, 10.0.0.7", "203.0.113.5"),  # inner proxies skipped
        ("192.0.2.1", "10.9.9.9, 198.51.100.9", "198.51.100.9"),  # spoofed left hop not believed
        ("192.0.2.1", "garbage, 10.0.0.7", "garbage"),  # an unparsable hop is not a proxy
        ("192.0.2.1", "10.0.0.8, 10.0.0.7", "10.0.0.8"),  # only proxies: where the chain started
        ("10.0.0.7", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address_believes_only_trusted_proxies(
    peer: str, forwarded_for: str | None, expected: str
) -> None:
    assert webhooks.client_address(peer, forwarded_for, TRUSTED) == expected


def test_client_address_without_trusted_proxies_is_the_peer() -> None:
    assert webhooks.client_address("192.0.2.1", "203.0.113.5", []) == "192.0.2.1"


def test_bad_networks_fail_at_startup() -> None:
    with pytest.raises(ValidationError, match="not an IP network"):
        Settings(webhook_trusted_proxies=["10.0.0.0/33"])
    with pytest.raises(ValidationError, match="not an IP network"):
        Settings(webhook_ip_allowlist={"moov": ["nope"]})
