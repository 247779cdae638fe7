"""Where a request comes from: recorded in the audit log and the auth events."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Origin:
    """Caller address, user agent and (for administration) the acting subject."""

    ip: str | None = None
    user_agent: str | None = None
    actor: str | None = None
    actor_institution: str | None = None

    def by(self, actor: str | None, institution: str | None = None) -> Origin:
        """The same origin with an acting subject."""
        return Origin(self.ip, self.user_agent, actor, institution)
