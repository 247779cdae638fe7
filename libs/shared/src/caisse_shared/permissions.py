"""The suite's permission catalogue: one place naming every permission an endpoint may require.

auth seeds its roles from this catalogue; services import the constants they require.
Format: ``<domain>:<resource>[:<action>]``; a role may grant ``<domain>:*`` or ``*``.
"""

from __future__ import annotations

# auth
AUTH_USERS_READ = "auth:users:read"
AUTH_USERS_WRITE = "auth:users:write"
AUTH_ROLES_READ = "auth:roles:read"
AUTH_ROLES_WRITE = "auth:roles:write"
AUTH_SESSIONS_MANAGE = "auth:sessions:manage"
AUTH_AUDIT_READ = "auth:audit:read"
AUTH_KEYS_ROTATE = "auth:keys:rotate"
AUTH_CLIENTS_READ = "auth:clients:read"
AUTH_CLIENTS_WRITE = "auth:clients:write"

# bank-sync
BANKSYNC_SYNC_READ = "banksync:sync:read"
BANKSYNC_SYNC_RUN = "banksync:sync:run"
BANKSYNC_CUSTOMERS_READ = "banksync:customers:read"
BANKSYNC_LOANS_READ = "banksync:loans:read"

# payments
PAYMENTS_READ = "payments:read"
PAYMENTS_CREATE = "payments:create"
PAYMENTS_REVERSE = "payments:reverse"
PAYMENTS_RECONCILE = "payments:reconcile"
PAYMENTS_INITIATE = "payments:initiate"

# collection
COLLECTION_AGENTS_READ = "collection:agents:read"
COLLECTION_AGENTS_WRITE = "collection:agents:write"
COLLECTION_ACTIONS_READ = "collection:actions:read"
COLLECTION_ACTIONS_WRITE = "collection:actions:write"
COLLECTION_ASSIGNMENTS_READ = "collection:assignments:read"
COLLECTION_ASSIGNMENTS_WRITE = "collection:assignments:write"
COLLECTION_CASES_READ = "collection:cases:read"
COLLECTION_CASES_WRITE = "collection:cases:write"
COLLECTION_STRATEGIES_WRITE = "collection:strategies:write"
COLLECTION_PERFORMANCE_READ = "collection:performance:read"

# profiles (customer-profile admin)
PROFILES_READ = "profiles:read"
PROFILES_STATUS_UPDATE = "profiles:status:update"
PROFILES_RESYNC = "profiles:resync"

# movements (financial movements)
MOVEMENTS_READ = "movements:read"
MOVEMENTS_CREDIT_CREATE = "movements:credit:create"
MOVEMENTS_DEBIT_CREATE = "movements:debit:create"
MOVEMENTS_REQUEST_VALIDATE = "movements:request:validate"
MOVEMENTS_LIMITS_WRITE = "movements:limits:write"

CATALOGUE: dict[str, str] = {
    value: name.lower()
    for name, value in globals().items()
    if name.isupper() and isinstance(value, str) and ":" in value
}
