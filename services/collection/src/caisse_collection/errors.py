"""Typed errors of the collection service (all rendered as problem+json)."""

from __future__ import annotations

from caisse_shared.errors import Conflict, Forbidden, NotFound, Unprocessable


class AgentNotFound(NotFound):
    """No such agent in the caller's institution."""

    code = "agent_not_found"


class TeamNotFound(NotFound):
    """No such team in the caller's institution."""

    code = "team_not_found"


class CaseNotFound(NotFound):
    """No case for this customer / loan in the caller's institution."""

    code = "case_not_found"


class ActionNotFound(NotFound):
    """No such action."""

    code = "action_not_found"


class AssignmentNotFound(NotFound):
    """No such assignment."""

    code = "assignment_not_found"


class InvalidStatusTransition(Conflict):
    """The case state machine refuses this move."""

    code = "invalid_status_transition"


class DuplicateResource(Conflict):
    """A unique name or code is already taken."""

    code = "duplicate"


class NotYourCustomer(Forbidden):
    """An agent without manager permissions acting on someone else's customer or figures."""

    code = "not_assigned_to_you"


class RuleViolation(Unprocessable):
    """A business rule refuses the request (inactive agent, promise out of range...)."""

    code = "rule_violation"
