"""Typed errors of bank-sync (mapped to problem+json by the shared handlers)."""

from __future__ import annotations

from caisse_shared.errors import Conflict, NotFound, Unprocessable


class SyncAlreadyRunning(Conflict):
    """A sync of this source is already queued or running."""

    code = "sync_already_running"


class UnknownSource(Unprocessable):
    """The source system is not configured."""

    code = "unknown_source"


class UnknownEntityType(Unprocessable):
    """The entity type is not one the service synchronises."""

    code = "unknown_entity_type"


class JobNotFound(NotFound):
    """No such sync job."""


class CustomerNotFound(NotFound):
    """No customer with this CIF (or outside the caller's institution)."""


class LoanNotFound(NotFound):
    """No loan with this account number (or outside the caller's institution)."""
