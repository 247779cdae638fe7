"""Caller addresses behind reverse proxies: which X-Forwarded-For hop to believe."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

from starlette.datastructures import Headers

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def ip_address(value: str | None) -> Address | None:
    """The parsed IP address, or None when ``value`` is not one."""
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


@lru_cache(maxsize=256)
def _network(cidr: str) -> Network:
    return ipaddress.ip_network(cidr, strict=False)


def within(value: str | None, networks: Sequence[str]) -> bool:
    """True if ``value`` is an IP address inside one of the CIDR ``networks``."""
    addr = ip_address(value)
    return addr is not None and any(addr in _network(n) for n in networks)


def check_networks(networks: Iterable[str]) -> None:
    """Raise ValueError naming the first entry that is not a CIDR network (settings validation)."""
    for net in networks:
        try:
            _network(net)
        except ValueError:
            raise ValueError(f"not an IP network: {net!r}") from None


def forwarded_for(headers: Headers) -> str | None:
    """Every X-Forwarded-For line joined in order (a proxy may append its own line)."""
    return ",".join(headers.getlist("x-forwarded-for")) or None


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str | None:
    """The direct peer, or behind trusted proxies the right-most hop that is not one of them."""
    # Each proxy appends the address it saw, so only hops right of the last untrusted one were
    # written by us; everything left of it is the client's own word.
    if not forwarded_for or not within(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",")]
    for hop in reversed(hops):
        if not within(hop, trusted):
            return hop
    return hops[0]  # a chain of trusted proxies only: the first one is where it started
