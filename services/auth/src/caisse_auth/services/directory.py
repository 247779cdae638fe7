"""LDAP / Active Directory provider (ldap3): bind as the user, read attributes and groups."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPBindError, LDAPException
from ldap3.utils.conv import escape_filter_chars

from caisse_auth.config import Settings


class DirectoryUnavailable(RuntimeError):
    """The directory cannot be reached or refused the service account."""


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A user as the directory describes them."""

    dn: str
    username: str
    email: str | None
    full_name: str | None
    groups: tuple[str, ...]  # group DNs and common names


@dataclass(frozen=True, slots=True)
class DirectoryConfig:
    """Connection and mapping settings of the directory."""

    url: str
    bind_dn: str
    bind_password: str
    user_base_dn: str
    user_filter: str
    group_base_dn: str
    group_filter: str
    email_attribute: str
    name_attribute: str
    group_role_map: dict[str, list[str]]
    timeout_s: float
    start_tls: bool


def _first(entry: Any, attribute: str) -> str | None:
    values = entry.entry_attributes_as_dict.get(attribute) or []
    return str(values[0]) if values else None


class LdapDirectory:
    """Authenticates against LDAP/AD; ldap3 is blocking, so calls run in a worker thread."""

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        self._timeout = max(1, round(config.timeout_s))  # ldap3 packs timeouts as ints
        self._server = ldap3.Server(config.url, connect_timeout=self._timeout, get_info=ldap3.NONE)

    @classmethod
    def from_settings(cls, s: Settings) -> LdapDirectory:
        """Directory from the ``ldap_*`` settings."""
        password = s.ldap_bind_password.get_secret_value() if s.ldap_bind_password else ""
        return cls(
            DirectoryConfig(
                s.ldap_url,
                s.ldap_bind_dn,
                password,
                s.ldap_user_base_dn,
                s.ldap_user_filter,
                s.ldap_group_base_dn or s.ldap_user_base_dn,
                s.ldap_group_filter,
                s.ldap_email_attribute,
                s.ldap_name_attribute,
                {k.lower(): v for k, v in s.ldap_group_role_map.items()},
                s.ldap_timeout_s,
                s.ldap_start_tls,
            )
        )

    def roles_for(self, user: DirectoryUser) -> set[str]:
        """Roles mapped from the user's groups (matched by DN or common name, any case)."""
        roles: set[str] = set()
        for group in user.groups:
            roles.update(self.config.group_role_map.get(group.lower(), []))
        return roles

    async def authenticate(self, username: str, password: str) -> DirectoryUser | None:
        """The directory user if the password is right, None otherwise."""
        if not password:  # an empty password would be an anonymous bind that "succeeds"
            return None
        try:
            return await asyncio.to_thread(self._authenticate, username, password)
        except DirectoryUnavailable:
            raise
        except Exception as exc:  # ldap3 leaks socket/struct errors: never a 500 for the caller
            raise DirectoryUnavailable(f"directory error: {type(exc).__name__}") from exc

    def _connection(self, dn: str | None, password: str | None) -> ldap3.Connection:
        conn = ldap3.Connection(
            self._server,
            user=dn or None,
            password=password or None,
            receive_timeout=self._timeout,
            raise_exceptions=True,
        )
        if self.config.start_tls:
            conn.open()
            conn.start_tls()
        conn.bind()
        return conn

    def _authenticate(self, username: str, password: str) -> DirectoryUser | None:
        c = self.config
        try:
            service = self._connection(c.bind_dn, c.bind_password)
        except LDAPException as exc:
            raise DirectoryUnavailable(f"directory bind failed: {type(exc).__name__}") from exc
        try:
            found = self._find_user(service, username)
            if found is None:
                return None
            dn, email, name = found
            try:
                self._connection(dn, password).unbind()
            except LDAPBindError:
                return None
            except LDAPException as exc:
                raise DirectoryUnavailable(f"directory error: {type(exc).__name__}") from exc
            return DirectoryUser(dn, username, email, name, self._groups(service, dn))
        except LDAPException as exc:
            raise DirectoryUnavailable(f"directory error: {type(exc).__name__}") from exc
        finally:
            service.unbind()

    def _find_user(self, conn: ldap3.Connection, username: str) -> tuple[str, str | None, str | None] | None:
        c = self.config
        flt = c.user_filter.format(username=escape_filter_chars(username))
        conn.search(c.user_base_dn, flt, attributes=[c.email_attribute, c.name_attribute], size_limit=2)
        if len(conn.entries) != 1:  # none, or ambiguous: refuse rather than guess
            return None
        entry = conn.entries[0]
        return (entry.entry_dn, _first(entry, c.email_attribute), _first(entry, c.name_attribute))

    def _groups(self, conn: ldap3.Connection, dn: str) -> tuple[str, ...]:
        c = self.config
        conn.search(
            c.group_base_dn, c.group_filter.format(user_dn=escape_filter_chars(dn)), attributes=["cn"]
        )
        out: list[str] = []
        for entry in conn.entries:
            out.append(entry.entry_dn)
            cn = _first(entry, "cn")
            if cn:
                out.append(cn)
        return tuple(out)
