"""Who may see what. Rule: every principal is confined to its institution (platform principals
without an institution claim see all). A principal holding ``collection:assignments:write`` is a
manager and sees every customer and agent of its institution; anyone else must be a registered
agent (``agent.user_id`` = token subject) and sees only the customers currently assigned to them,
their own assignments, tasks, workload and performance."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from caisse_shared.http.security import Principal
from caisse_shared.permissions import COLLECTION_ASSIGNMENTS_WRITE
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.db import repositories as repo
from caisse_collection.db.models import Agent, CustomerCase
from caisse_collection.errors import AgentNotFound, CaseNotFound, NotYourCustomer


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller as the collection service sees it."""

    principal: Principal
    agent_id: uuid.UUID | None
    manager: bool

    @property
    def institution_id(self) -> str | None:
        """The caller's institution (None = platform-wide)."""
        return self.principal.institution_id

    @property
    def subject(self) -> str:
        """The caller's auth subject."""
        return self.principal.subject


async def resolve_actor(session: AsyncSession, principal: Principal) -> Actor:
    """Find the caller's agent profile and manager status."""
    agent = await repo.agent_by_user(session, principal.subject, principal.institution_id)
    return Actor(principal, agent.id if agent else None, principal.has(COLLECTION_ASSIGNMENTS_WRITE))


def check_case(actor: Actor, case: CustomerCase | None) -> CustomerCase:
    """The case if the actor may see it: 404 outside the institution, 403 if not their customer."""
    if case is None or not actor.principal.can_see_institution(case.institution_id):
        raise CaseNotFound("no case for this customer")
    if not actor.manager and (actor.agent_id is None or case.agent_id != actor.agent_id):
        raise NotYourCustomer("this customer is not assigned to you")
    return case


def check_agent(actor: Actor, agent: Agent | None, *, self_only: bool = True) -> Agent:
    """The agent if visible to the actor (own profile only for non-managers when ``self_only``)."""
    if agent is None or not actor.principal.can_see_institution(agent.institution_id):
        raise AgentNotFound("no such agent")
    if self_only and not actor.manager and agent.id != actor.agent_id:
        raise NotYourCustomer("you may only see your own figures and assignments")
    return agent
