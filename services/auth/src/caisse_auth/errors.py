"""Typed errors of the auth service (mapped to problem+json by the shared handlers)."""

from __future__ import annotations

from caisse_shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)


class InvalidCredentials(Unauthorized):
    """Same answer for an unknown user, a wrong password and an inactive account."""

    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("invalid username or password")


class LoginThrottled(TooManyRequests):
    """Too many failed sign-ins for this username, or attempts from this address."""

    code = "login_throttled"


class InvalidRefreshToken(Unauthorized):
    """Unknown, expired, revoked or reused refresh token."""

    code = "invalid_refresh_token"


class InvalidClient(Unauthorized):
    """Unknown client or wrong client secret."""

    code = "invalid_client"


class UserNotFound(NotFound):
    """No such user (or outside the caller's institution)."""

    code = "user_not_found"


class RoleNotFound(NotFound):
    """No such role."""

    code = "role_not_found"


class SessionNotFound(NotFound):
    """No such session for this user."""

    code = "session_not_found"


class UsernameTaken(Conflict):
    """A user with this username already exists."""

    code = "username_taken"


class ClientExists(Conflict):
    """A client with this id already exists."""

    code = "client_exists"


class SystemRoleImmutable(Conflict):
    """Seeded roles follow the catalogue; they cannot be edited through the API."""

    code = "system_role_immutable"


class PrivilegeEscalation(Forbidden):
    """The caller cannot grant permissions it does not hold itself."""

    code = "privilege_escalation"


class InstitutionOutOfScope(Forbidden):
    """An institution-scoped caller named another institution (or none) for a user or client."""

    title, code = "Institution out of scope", "institution_out_of_scope"


class InvalidPermission(Unprocessable):
    """A permission that is not in the catalogue."""

    code = "invalid_permission"


class WeakPassword(Unprocessable):
    """The new password fails the password policy."""

    code = "weak_password"


class WrongPassword(Unauthorized):
    """The current password given for a password change is wrong."""

    code = "wrong_password"


class DirectoryUser(Unprocessable):
    """The operation needs a local account; this one lives in LDAP/AD."""

    code = "directory_user"
