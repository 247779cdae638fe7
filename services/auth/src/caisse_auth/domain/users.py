"""User rules: username syntax, statuses and sources."""

from __future__ import annotations

import re
from enum import StrEnum

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,149}$")


class UserStatus(StrEnum):
    """Lifecycle of an account."""

    ACTIVE = "active"
    INACTIVE = "inactive"


class UserSource(StrEnum):
    """Where the credentials live."""

    LOCAL = "local"
    LDAP = "ldap"


class InvalidUsername(ValueError):
    """The username does not match the allowed syntax."""


def normalise_username(raw: str) -> str:
    """Lower-cased, trimmed username; raise InvalidUsername if it has other characters."""
    name = raw.strip().lower()
    if not USERNAME_RE.fullmatch(name):
        raise InvalidUsername("username: 1-150 of letters, digits, '.', '_', '@', '-'")
    return name
