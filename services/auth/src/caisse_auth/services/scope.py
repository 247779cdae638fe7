"""Institution scoping of administrative writes: refused, never silently rewritten."""

from __future__ import annotations

from caisse_shared.http.security import Principal

from caisse_auth.errors import InstitutionOutOfScope


def assigned_institution(actor: Principal, requested: str | None) -> str | None:
    """Where a new user or client goes: as named, else the actor's own institution."""
    if requested is not None and not actor.can_see_institution(requested):
        raise InstitutionOutOfScope(
            f"you administer institution {actor.institution_id!r} only, not {requested!r}"
        )
    return requested if requested is not None else actor.institution_id


def check_institution_change(actor: Principal, current: str | None, new: str | None) -> None:
    """Only platform-wide administrators move a user to another institution (or to none)."""
    if new != current and actor.institution_id is not None:
        raise InstitutionOutOfScope(
            f"you administer institution {actor.institution_id!r} only: a user cannot be moved to {new!r}"
        )
