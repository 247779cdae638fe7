"""System roles seeded from the suite's permission catalogue (sources 001, 002, 004)."""

from __future__ import annotations

from dataclasses import dataclass

from caisse_shared import permissions as p


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """A role the service seeds and keeps in sync with the catalogue."""

    name: str
    description: str
    permissions: frozenset[str]


_AGENT = frozenset(
    {
        p.BANKSYNC_CUSTOMERS_READ,
        p.BANKSYNC_LOANS_READ,
        p.PAYMENTS_READ,
        p.PAYMENTS_CREATE,
        p.PROFILES_READ,
        p.MOVEMENTS_READ,
        p.MOVEMENTS_REQUEST_VALIDATE,
        p.COLLECTION_CASES_READ,
        p.COLLECTION_ACTIONS_READ,
    }
)
_SUPERVISOR = _AGENT | {
    p.COLLECTION_AGENTS_READ,
    p.COLLECTION_ASSIGNMENTS_READ,
    p.COLLECTION_PERFORMANCE_READ,
    p.PROFILES_STATUS_UPDATE,
    p.AUTH_USERS_READ,
    p.AUTH_AUDIT_READ,
    p.BANKSYNC_SYNC_READ,
}
_SFD_ADMIN = _SUPERVISOR | {
    p.PAYMENTS_REVERSE,
    p.PAYMENTS_RECONCILE,
    p.MOVEMENTS_LIMITS_WRITE,
    p.COLLECTION_AGENTS_WRITE,
    p.COLLECTION_ASSIGNMENTS_WRITE,
    p.COLLECTION_STRATEGIES_WRITE,
    p.AUTH_USERS_WRITE,
    p.AUTH_ROLES_READ,
    p.AUTH_SESSIONS_MANAGE,
    p.PROFILES_RESYNC,
}

SYSTEM_ROLES: tuple[RoleSpec, ...] = (
    RoleSpec("platform_admin", "Admin plateforme: super-administrator, every permission", frozenset({"*"})),
    RoleSpec(
        "sfd_admin",
        "Administrateur SFD: runs one institution (users, limits, reversals)",
        frozenset(_SFD_ADMIN),
    ),
    RoleSpec(
        "sfd_supervisor", "Superviseur SFD: agent rights plus supervision and audit", frozenset(_SUPERVISOR)
    ),
    RoleSpec("sfd_agent", "Agent SFD: first-line validation, own institution's clients only", _AGENT),
    RoleSpec(
        "client",
        "Client / agence: own requests and payments only",
        frozenset({p.PAYMENTS_READ, p.PAYMENTS_INITIATE, p.MOVEMENTS_READ, p.MOVEMENTS_CREDIT_CREATE}),
    ),
    RoleSpec(
        "operation",
        "Opération: load/unload requests, reads every request",
        frozenset({p.MOVEMENTS_READ, p.MOVEMENTS_CREDIT_CREATE, p.MOVEMENTS_DEBIT_CREATE, p.PROFILES_READ}),
    ),
    RoleSpec(
        "finance",
        "Finance: validates credit/load/unload requests, sets limits",
        frozenset(
            {
                p.MOVEMENTS_READ,
                p.MOVEMENTS_REQUEST_VALIDATE,
                p.MOVEMENTS_LIMITS_WRITE,
                p.PAYMENTS_READ,
                p.PAYMENTS_RECONCILE,
            }
        ),
    ),
    RoleSpec(
        "admin",
        "Admin (movements): every movement and profile permission",
        frozenset({"movements:*", "profiles:*"}),
    ),
    RoleSpec(
        "collection_agent",
        "Collection field agent: own cases and actions",
        frozenset(
            {
                p.COLLECTION_CASES_READ,
                p.COLLECTION_ACTIONS_READ,
                p.COLLECTION_ACTIONS_WRITE,
                # collection scopes these to the agent's own assignments and figures
                p.COLLECTION_ASSIGNMENTS_READ,
                p.COLLECTION_PERFORMANCE_READ,
                p.BANKSYNC_CUSTOMERS_READ,
                p.BANKSYNC_LOANS_READ,
                p.PAYMENTS_READ,
            }
        ),
    ),
    RoleSpec(
        "collection_manager",
        "Collection manager: teams, assignments, strategies",
        frozenset({"collection:*", p.BANKSYNC_CUSTOMERS_READ, p.BANKSYNC_LOANS_READ, p.PAYMENTS_READ}),
    ),
    RoleSpec(
        "payments_operator",
        "Payments back office: record, reverse, reconcile",
        frozenset(
            {
                p.PAYMENTS_READ,
                p.PAYMENTS_CREATE,
                p.PAYMENTS_REVERSE,
                p.PAYMENTS_RECONCILE,
                p.BANKSYNC_LOANS_READ,
            }
        ),
    ),
    RoleSpec(
        "banksync_operator",
        "Bank-sync operator: runs and monitors synchronisations",
        frozenset({"banksync:*"}),
    ),
    RoleSpec(
        "security_auditor",
        "Reads users, roles and the audit log",
        frozenset({p.AUTH_USERS_READ, p.AUTH_ROLES_READ, p.AUTH_AUDIT_READ}),
    ),
)

ROLE_NAMES = frozenset(r.name for r in SYSTEM_ROLES)


def valid_permission(code: str, catalogue: frozenset[str]) -> bool:
    """A grantable permission: a catalogue entry, a ``<domain>:*`` wildcard, or ``*``."""
    if code == "*" or code in catalogue:
        return True
    domain, _, rest = code.partition(":")
    return rest == "*" and any(c.startswith(domain + ":") for c in catalogue)


def grants(held: frozenset[str], permission: str) -> bool:
    """True if ``held`` covers ``permission`` (exact, domain wildcard or ``*``)."""
    if "*" in held or permission in held:
        return True
    domain = permission.split(":", 1)[0]
    return f"{domain}:*" in held


def covers(held: frozenset[str], wanted: frozenset[str]) -> bool:
    """True if every permission in ``wanted`` is granted by ``held`` (no privilege escalation)."""
    return all(grants(held, w) for w in wanted)
