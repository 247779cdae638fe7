"""Request (XxxCreate / XxxUpdate) and response (XxxRead) models of the HTTP API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from caisse_auth.domain.users import InvalidUsername, normalise_username


def _printable(value: str) -> str:
    """Reject control characters (NUL would even break PostgreSQL text)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("control characters are not allowed")
    return value


def _username(value: str) -> str:
    try:
        return normalise_username(value)
    except InvalidUsername as exc:
        raise ValueError(str(exc)) from None


Text = Annotated[str, StringConstraints(max_length=200), AfterValidator(_printable)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=256), AfterValidator(_printable)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=8192), AfterValidator(_printable)]
Username = Annotated[str, StringConstraints(min_length=1, max_length=150), AfterValidator(_printable)]
NewUsername = Annotated[str, StringConstraints(max_length=160), AfterValidator(_username)]
Email = Annotated[
    str, StringConstraints(max_length=254, pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s]+$")
]
ScopeId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]
RoleName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
PermissionCode = Annotated[str, StringConstraints(max_length=100, pattern=r"^(\*|[a-z_]+(:[a-z_]+)*(:\*)?)$")]
ClientId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,99}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LoginCreate(_In):
    """POST /api/auth/login."""

    username: Username
    password: Secret


class RefreshCreate(_In):
    """POST /api/auth/token/refresh (source name ``refreshToken``)."""

    refreshToken: Token = Field(validation_alias=AliasChoices("refreshToken", "refresh_token"))


class TokenCreate(_In):
    """A token to validate or to log out."""

    token: Token


class UserRead(BaseModel):
    """A user as administrators see it (never the password hash)."""

    id: uuid.UUID
    username: str
    email: str | None
    full_name: str | None
    status: str
    source: str
    institution_id: str | None
    agency_id: str | None
    roles: list[str]
    locked_until: datetime | None
    must_change_password: bool
    last_login_at: datetime | None
    created_at: datetime


class AuthResultRead(BaseModel):
    """AuthResult of the source, plus the OAuth2 names of the same values."""

    success: bool = True
    user: UserRead
    token: str
    refreshToken: str
    expiresAt: datetime
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime
    session_id: uuid.UUID


class TokenRefreshRead(BaseModel):
    """TokenRefreshResult: a new access token and the next refresh token."""

    success: bool = True
    token: str
    refreshToken: str
    expiresAt: datetime
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime


class TokenValidationRead(BaseModel):
    """TokenValidationResult."""

    valid: bool
    reason: str | None = None
    subject: str | None = None
    username: str | None = None
    permissions: list[str] = []
    roles: list[str] = []
    institution_id: str | None = None
    agency_id: str | None = None
    client_id: str | None = None
    session_id: str | None = None
    expires_at: datetime | None = None


class SuccessRead(BaseModel):
    """``{ success: boolean }``."""

    success: bool = True


class ClientTokenRead(BaseModel):
    """OAuth2 token response of the client-credentials grant."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str


class PasswordUpdate(_In):
    """POST /api/auth/password: the signed-in user changes their password."""

    current_password: Secret
    new_password: Secret


class PasswordReset(_In):
    """POST /api/users/{id}/password/reset (omit the password to get a generated one)."""

    new_password: Secret | None = None


class PasswordResetRead(BaseModel):
    """The generated temporary password, shown once (null when the admin chose it)."""

    temporary_password: str | None


class UserCreate(_In):
    """POST /api/users."""

    username: NewUsername
    password: Secret | None = None
    email: Email | None = None
    full_name: Text | None = None
    institution_id: ScopeId | None = None
    agency_id: ScopeId | None = None
    roles: list[RoleName] = Field(default_factory=list, max_length=20)
    must_change_password: bool = False


class UserCreatedRead(UserRead):
    """The new user, with the generated password when none was given."""

    temporary_password: str | None = None


class UserUpdate(_In):
    """PATCH /api/users/{id} (only the fields sent change)."""

    email: Email | None = None
    full_name: Text | None = None
    institution_id: ScopeId | None = None
    agency_id: ScopeId | None = None


class RoleAssignCreate(_In):
    """POST /api/users/{id}/roles."""

    role: RoleName


class PermissionRead(BaseModel):
    """A permission of the catalogue (or a wildcard)."""

    code: str
    description: str


class RoleRead(BaseModel):
    """A role and its permissions."""

    id: uuid.UUID
    name: str
    description: str
    is_system: bool
    permissions: list[str]


class RoleCreate(_In):
    """POST /api/roles (a custom role)."""

    name: RoleName
    description: Text = ""
    permissions: list[PermissionCode] = Field(max_length=200)


class RolePermissionsUpdate(_In):
    """PUT /api/roles/{id}/permissions."""

    permissions: list[PermissionCode] = Field(max_length=200)


class SessionRead(BaseModel):
    """A session (refresh-token family)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    provider: str
    ip: str | None
    user_agent: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


class RevokedRead(BaseModel):
    """How many sessions were revoked."""

    revoked: int


class ClientCreate(_In):
    """POST /api/clients."""

    client_id: ClientId
    name: Text
    permissions: list[PermissionCode] = Field(min_length=1, max_length=200)
    institution_id: ScopeId | None = None


class ClientRead(BaseModel):
    """An OAuth2 client (never its secret hash)."""

    model_config = ConfigDict(from_attributes=True)

    client_id: str
    name: str
    permissions: list[str]
    institution_id: str | None
    active: bool
    created_at: datetime


class ClientCreatedRead(ClientRead):
    """The new client with its secret, shown once."""

    client_secret: str


class AuditRead(BaseModel):
    """One audit row."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    action: str
    result: str
    actor: str | None
    username: str | None
    user_id: uuid.UUID | None
    target: str | None
    institution_id: str | None
    ip: str | None
    user_agent: str | None
    reason: str | None
    correlation_id: str | None
    details: dict[str, Any]


class JwksRead(BaseModel):
    """JSON Web Key Set."""

    keys: list[dict[str, Any]]


class KeyRotatedRead(BaseModel):
    """The kid now signing."""

    kid: str
