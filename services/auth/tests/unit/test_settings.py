"""Settings: trusted proxies must parse; the retired first-hop switch refuses to start."""

from __future__ import annotations

import pytest
from caisse_auth.config import Settings
from pydantic import ValidationError


def test_trusted_proxies_are_cidr_networks() -> None:
    assert Settings(trusted_proxies=["10.0.0.0/8", "2001:db8::/32"]).trusted_proxies == [
        "10.0.0.0/8",
        "2001:db8::/32",
    ]
    with pytest.raises(ValidationError, match="not an IP network"):
        Settings(trusted_proxies=["10.0.0.0/33"])


def test_retired_trust_forwarded_for_refuses_to_start() -> None:
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        Settings(trust_forwarded_for=True)
