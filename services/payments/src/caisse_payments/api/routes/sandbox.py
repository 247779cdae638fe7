"""Sandbox-only endpoint: force the outcome of a pending payment (registered in development only).

``create_app`` includes this router only when the provider is ``sandbox``, which the settings
allow in development only: anywhere else the route does not exist (404, absent from OpenAPI),
so no holder of ``payments:initiate`` can mark money as received without an aggregator.
"""

from __future__ import annotations

from fastapi import APIRouter

from caisse_payments.api.deps import Initiator, ProviderDep, SessionDep, SettingsDep, ingest_context
from caisse_payments.api.schemas import PaymentRead, SandboxTestCreate, payment_read
from caisse_payments.domain.model import NotificationOutcome
from caisse_payments.services import initiate as flow

router = APIRouter(prefix="/api/payments", tags=["tontine payments"])


@router.post(
    "/sandbox-test",
    response_model=PaymentRead,
    summary="Complete a pending payment in sandbox mode (development only; payments:initiate)",
)
async def sandbox_test(
    body: SandboxTestCreate,
    session: SessionDep,
    settings: SettingsDep,
    provider: ProviderDep,
    who: Initiator,
) -> PaymentRead:
    row = await flow.check_status(
        session,
        provider,
        body.reference_number,
        ingest_context(settings, who.subject),
        forced=NotificationOutcome(body.outcome),
    )
    return payment_read(row)
