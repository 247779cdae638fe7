"""Signed notification endpoints: no JWT, an HMAC signature and timestamp window instead."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from caisse_payments.api.deps import SessionDep, SettingsDep, ingest_context
from caisse_payments.api.schemas import PaymentRead, payment_read
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


async def _receive(request: Request, session: SessionDep, settings: SettingsDep, source: str) -> JSONResponse:
    result = await webhooks.receive(
        session,
        settings,
        ingest_context(settings, f"webhook:{source}"),
        source=source,
        headers=request.headers,
        body=await request.body(),
        client_ip=request.client.host if request.client else None,
    )
    body = payment_read(result.payment).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if result.created else 200)


@router.post(
    "/notification",
    response_model=PaymentRead,
    responses=SIGNED,  # type: ignore[arg-type]
    summary="Handle a payment notification (signed; PaymentNotification body)",
)
async def notification(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _sig: SigHeader = None,
    _ts: TsHeader = None,
) -> JSONResponse:
    return await _receive(request, session, settings, "notification")


@router.post(
    "/webhook",
    response_model=PaymentRead,
    responses=SIGNED,  # type: ignore[arg-type]
    summary="KKiaPay webhook (tontine platform path; signed)",
)
async def kkiapay_webhook(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _sig: SigHeader = None,
    _ts: TsHeader = None,
) -> JSONResponse:
    return await _receive(request, session, settings, "kkiapay")


@router.post(
    "/webhooks/{channel}",
    response_model=PaymentRead,
    responses=SIGNED,  # type: ignore[arg-type]
    summary="Aggregator webhook per channel (signed with the channel's secret)",
)
async def channel_webhook(
    channel: Literal["kkiapay", "mtn-momo", "moov", "bank-transfer"],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _sig: SigHeader = None,
    _ts: TsHeader = None,
) -> JSONResponse:
    return await _receive(request, session, settings, channel)
