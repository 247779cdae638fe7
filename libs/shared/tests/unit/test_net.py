"""Proxy-aware caller address: only trusted proxies' X-Forwarded-For hops are believed."""

from __future__ import annotations

import pytest
from caisse_shared.http.net import check_networks, client_address, forwarded_for, within
from starlette.datastructures import Headers

TRUSTED = ["10.0.0.0/8", "192.0.2.1/32"]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
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
    peer: str, forwarded: str | None, expected: str
) -> None:
    assert client_address(peer, forwarded, TRUSTED) == expected


def test_client_address_without_trusted_proxies_is_the_peer() -> None:
    assert client_address("192.0.2.1", "203.0.113.5", []) == "192.0.2.1"


def test_every_forwarded_for_line_counts() -> None:
    # The client wrote the first line; the proxy appended its own line rather than a hop.
    headers = Headers(raw=[(b"x-forwarded-for", b"10.9.9.9"), (b"x-forwarded-for", b"198.51.100.9")])
    assert forwarded_for(headers) == "10.9.9.9,198.51.100.9"
    assert client_address("192.0.2.1", forwarded_for(headers), TRUSTED) == "198.51.100.9"
    assert forwarded_for(Headers()) is None


def test_within_and_check_networks() -> None:
    assert within("10.1.2.3", TRUSTED) and not within("11.0.0.1", TRUSTED)
    assert not within(None, TRUSTED) and not within("nope", TRUSTED)
    check_networks(["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"])
    with pytest.raises(ValueError, match=r"not an IP network: '10\.0\.0\.0/33'"):
        check_networks(["10.0.0.0/8", "10.0.0.0/33"])
