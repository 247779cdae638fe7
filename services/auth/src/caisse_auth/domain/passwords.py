"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class PasswordPolicyError(ValueError):
    """A new password does not meet the policy."""


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """argon2id cost parameters."""

    time_cost: int = 2
    memory_kib: int = 19_456
    parallelism: int = 1


class Passwords:
    """Hash and verify passwords; verifying an unknown user costs the same as a known one."""

    def __init__(self, params: Argon2Params, min_length: int = 10) -> None:
        self.min_length = min_length
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
        )
        # Verified against when the user does not exist, so timing does not reveal it.
        self._dummy = self._hasher.hash("caisse-timing-equaliser")

    def hash(self, password: str) -> str:
        """argon2id hash of a password that meets the policy."""
        self.check_policy(password)
        return self._hasher.hash(password)

    def rehash(self, password: str) -> str:
        """Hash an already-accepted password with the current parameters (no policy check)."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True if ``password`` matches; a missing hash still spends one verification."""
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and bool(stored_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True if the hash was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(stored_hash)

    def check_policy(self, password: str) -> None:
        """Raise PasswordPolicyError unless the password is long and varied enough."""
        if len(password) < self.min_length:
            raise PasswordPolicyError(f"password must have at least {self.min_length} characters")
        if len(password) > 256:
            raise PasswordPolicyError("password must have at most 256 characters")
        if "\x00" in password:
            raise PasswordPolicyError("password must not contain NUL characters")
        classes = sum(
            (
                any(c.islower() for c in password),
                any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() for c in password),
            )
        )
        if classes < 3:
            raise PasswordPolicyError("password needs three of: lower case, upper case, digit, symbol")
