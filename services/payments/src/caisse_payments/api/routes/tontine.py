"""Tontine platform payments module: transactions list, initiate, check-status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from caisse_shared.http.idempotency import IdempotencyKey, run_idempotent
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from caisse_payments.api.deps import (
    Initiator,
    ProviderDep,
    Reader,
    SessionDep,
    SettingsDep,
    ingest_context,
)
from caisse_payments.api.schemas import (
    CheckStatusCreate,
    InitiateCreate,
    PaymentRead,
    payment_read,
)
from caisse_payments.domain.model import Channel, PaymentStatus, TransactionType
from caisse_payments.services import initiate as flow
from caisse_payments.services import queries

router = APIRouter(prefix="/api/payments", tags=["tontine payments"])


@router.get(
    "/transactions",
    response_model=list[PaymentRead],
    summary="Transactions with filters (payments:read)",
)
async def transactions(
    session: SessionDep,
    who: Reader,
    channel: Channel | None = None,
    status: PaymentStatus | None = None,
    transaction_type: TransactionType | None = None,
    needs_review: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[PaymentRead]:
    f = queries.PaymentFilter(
        channel=channel,
        status=status,
        transaction_type=transaction_type,
        needs_review=needs_review,
        since=since,
        until=until,
    )
    rows = await queries.list_payments(session, f, who, limit=limit, offset=offset)
    return [payment_read(r) for r in rows]


@router.post(
    "/initiate",
    status_code=201,
    response_model=PaymentRead,
    summary="Initiate a mobile-money collection at the aggregator (payments:initiate)",
)
async def initiate(
    body: InitiateCreate,
    session: SessionDep,
    provider: ProviderDep,
    who: Initiator,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def action() -> PaymentRead:
        req = flow.Initiation(
            amount=body.amount,
            currency=body.currency,
            phone=body.phone,
            transaction_type=body.transaction_type,
            account_number=body.account_number,
            description=body.description,
        )
        return payment_read(await flow.initiate(session, provider, req, who.subject))

    result = await run_idempotent(
        session,
        scope="payments.initiate",
        key=key,
        request_body=body.model_dump(mode="json"),
        action=action,
    )
    return result.response()


@router.post(
    "/check-status",
    response_model=PaymentRead,
    summary="Refresh a pending payment from the aggregator (payments:initiate)",
)
async def check_status(
    body: CheckStatusCreate,
    session: SessionDep,
    settings: SettingsDep,
    provider: ProviderDep,
    who: Initiator,
) -> PaymentRead:
    row = await flow.check_status(
        session, provider, body.reference_number, ingest_context(settings, who.subject)
    )
    return payment_read(row)
