"""/api/audit: query the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from caisse_shared.http.security import Principal, require
from caisse_shared.permissions import AUTH_AUDIT_READ
from fastapi import APIRouter, Depends, Query

from caisse_auth.api.deps import SessionDep
from caisse_auth.api.schemas import AuditRead
from caisse_auth.services import audit

router = APIRouter(tags=["audit"])
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Short = Annotated[str | None, Query(max_length=150, pattern=PRINTABLE)]


@router.get(
    "/api/audit",
    response_model=list[AuditRead],
    summary=f"Audit log, newest first, filtered ({AUTH_AUDIT_READ})",
)
async def search_audit(
    principal: Annotated[Principal, Depends(require(AUTH_AUDIT_READ))],
    session: SessionDep,
    action: Short = None,
    result: Short = None,
    username: Short = None,
    actor: Short = None,
    user_id: uuid.UUID | None = None,
    ip: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> list[AuditRead]:
    q = audit.AuditQuery(
        action=action,
        result=result,
        username=username,
        actor=actor,
        user_id=user_id,
        ip=ip,
        since=since,
        until=until,
        institution_id=principal.institution_id,
        limit=limit,
        before_id=before_id,
    )
    return [AuditRead.model_validate(r) for r in await audit.search(session, q)]
