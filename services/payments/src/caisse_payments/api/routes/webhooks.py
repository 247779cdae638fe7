"""Signed notification endpoints: no JWT, an HMAC signature and timestamp window instead."""

from __future__ import annotations

from typing import Annotated, Literal

from caisse_shared.db import Database
from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from caisse_payments.api.deps import ingest_context
from caisse_payments.api.schemas import PaymentRead, payment_read
from caisse_payments.config import Settings
from caisse_payments.services import webhooks

router = APIRouter(prefix="/api/payments", tags=["webhooks"])
SIGNED = {
    "401": {"description": "Bad signature or expired timestamp"},
    "409": {"description": "Replayed delivery"},
}
SigHeader = Annotated[
    str | None,
    Header(alias="X-Caisse-Signature", description="sha256=<hex HMAC of timestamp.body>"),
]
TsHeader = Annotated[str | None, Header(alias="X-Caisse-Timestamp", description="unix seconds")]


async def _receive(request: Request, source: str) -> Response:
    """Hot path: no session dependency (the service commits before returning: one autocommit
    statement or one unit of work), and the body is serialised once."""
    settings: Settings = request.app.state.settings
    database: Database = request.app.state.database
    result = await webhooks.receive(
        database,
        settings,
        ingest_context(settings, f"webhook:{source}"),
        source=source,
        headers=request.headers,
        body=await request.body(),
        client_ip=request.client.host if request.client else None,
    )
    return Response(
        payment_read(result.payment).model_dump_json(),
        status_code=201 if result.created else 200,
        media_type="application/json",
    )


@router.post(
    "/notification",
    response_model=PaymentRead,
    responses=SIGNED,  # type: ignore[arg-type]
    summary="Handle a payment notification (signed; PaymentNotification body)",
)
async def notification(
    request: Request,
    _sig: SigHeader = None,
    _ts: TsHeader = None,
) -> Response:
    return await _receive(request, "notification")


@router.post(
    "/webhook",
    response_model=PaymentRead,
    responses=SIGNED,  # type: ignore[arg-type]
    summary="KKiaPay webhook (tontine platform path; signed)",
)
async def kkiapay_webhook(
    request: Request,
    _sig: SigHeader = None,
    _ts: TsHeader = None,
) -> Response:
    return await _receive(request, "kkiapay")


@router.post(
    "/webhooks/{channel}",
    response_model=PaymentRead,
    responses=SIGNED,  # type: ignore[arg-type]
    summary="Aggregator webhook per channel (signed with the channel's secret)",
)
async def channel_webhook(
    channel: Literal["kkiapay", "mtn-momo", "moov", "bank-transfer"],
    request: Request,
    _sig: SigHeader = None,
    _ts: TsHeader = None,
) -> Response:
    return await _receive(request, channel)
