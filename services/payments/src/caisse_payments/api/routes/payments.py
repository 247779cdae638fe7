"""§2.3 endpoints: record a payment, read by reference / loan / customer, reverse, receipts."""

from __future__ import annotations

from typing import Annotated, Literal

from caisse_shared.http.idempotency import IdempotencyKey, run_idempotent
from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from caisse_payments.api.deps import (
    Creator,
    Reader,
    Reconciler,
    Reverser,
    SessionDep,
    SettingsDep,
    ingest_context,
)
from caisse_payments.api.schemas import (
    PaymentCreate,
    PaymentDetailRead,
    PaymentRead,
    ReceiptRead,
    ReceiptVerificationRead,
    ReversalCreate,
    SuspenseAllocationCreate,
    now_utc,
    payment_read,
)
from caisse_payments.domain.model import DateBounds, Notification, NotificationOutcome
from caisse_payments.services import queries, receipts, reversal, suspense
from caisse_payments.services.ingest import ingest

router = APIRouter(prefix="/api/payments", tags=["payments"])
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get(
    "/loan/{accountNumber}",
    response_model=list[PaymentRead],
    summary="Payments of a loan (payments:read)",
)
async def loan_payments(
    accountNumber: str, session: SessionDep, who: Reader, limit: Limit = 100, offset: Offset = 0
) -> list[PaymentRead]:
    rows = await queries.list_payments(
        session,
        queries.PaymentFilter(account_number=accountNumber),
        who,
        limit=limit,
        offset=offset,
    )
    return [payment_read(r) for r in rows]


@router.get(
    "/customer/{cif}",
    response_model=list[PaymentRead],
    summary="Payments of a customer (payments:read)",
)
async def customer_payments(
    cif: str, session: SessionDep, who: Reader, limit: Limit = 100, offset: Offset = 0
) -> list[PaymentRead]:
    rows = await queries.list_payments(
        session, queries.PaymentFilter(cif=cif), who, limit=limit, offset=offset
    )
    return [payment_read(r) for r in rows]


@router.post(
    "",
    status_code=201,
    response_model=PaymentRead,
    summary="Record a payment (payments:create; Idempotency-Key supported)",
)
async def record_payment(
    body: PaymentCreate,
    session: SessionDep,
    settings: SettingsDep,
    who: Creator,
    key: IdempotencyKey = None,
) -> JSONResponse:
    ctx = ingest_context(settings, who.subject)
    now = now_utc()
    if body.paid_at is not None:  # the caller can correct it: refused, not flagged
        DateBounds.of(settings.payment_date_floor, settings.payment_date_max_ahead_s).check(body.paid_at, now)

    async def action() -> PaymentRead:
        n = Notification(
            channel=body.channel,
            provider_reference=body.provider_reference,
            amount=body.amount,
            currency=body.currency,
            outcome=NotificationOutcome.SUCCESS,
            paid_at=body.paid_at or now,
            account_number=body.account_number,
            cif=body.cif,
            transaction_type=body.transaction_type,
            payer_phone=body.payer_phone,
            raw=body.model_dump(mode="json"),
        )
        return payment_read((await ingest(session, n, ctx)).payment)

    result = await run_idempotent(
        session,
        scope="payments.create",
        key=key,
        request_body=body.model_dump(mode="json"),
        action=action,
    )
    return result.response()


@router.get(
    "/receipt/{referenceNumber}",
    response_model=ReceiptRead,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="Payment receipt: PDF by default, JSON with format=json (payments:read)",
)
async def receipt(
    referenceNumber: str,
    session: SessionDep,
    settings: SettingsDep,
    who: Reader,
    format: Literal["pdf", "json"] | None = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    built = await receipts.build(session, referenceNumber, who, settings.receipt_secret.get_secret_value())
    if format == "json" or (format is None and "application/json" in (accept or "")):
        return JSONResponse(ReceiptRead(**built.as_dict()).model_dump(mode="json"))
    return Response(
        receipts.render_pdf(built),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="receipt-{built.reference_number}.pdf"'},
    )


@router.get(
    "/receipt/{referenceNumber}/verify",
    response_model=ReceiptVerificationRead,
    summary="Check a receipt's verification code (payments:read)",
)
async def verify_receipt(
    referenceNumber: str,
    session: SessionDep,
    settings: SettingsDep,
    who: Reader,
    code: Annotated[str, Query(min_length=4, max_length=40)],
) -> ReceiptVerificationRead:
    valid = await receipts.verify(session, referenceNumber, code, settings.receipt_secret.get_secret_value())
    return ReceiptVerificationRead(reference_number=referenceNumber, valid=valid)


@router.get(
    "/{referenceNumber}",
    response_model=PaymentDetailRead,
    summary="Payment details with allocations, history and conflicting deliveries (payments:read)",
)
async def get_payment(referenceNumber: str, session: SessionDep, who: Reader) -> PaymentDetailRead:
    d = await queries.get_payment(session, referenceNumber, who)
    return PaymentDetailRead.model_validate(
        {
            **d.payment._mapping,
            "allocations": [dict(a._mapping) for a in d.allocations],
            "history": [dict(h._mapping) for h in d.history],
            "conflicts": [dict(c._mapping) for c in d.conflicts],
        }
    )


@router.post(
    "/{referenceNumber}/reversal",
    status_code=201,
    response_model=PaymentRead,
    summary="Reverse a payment: PAYMENT_REVERSED (payments:reverse; Idempotency-Key)",
)
async def reverse_payment(
    referenceNumber: str,
    body: ReversalCreate,
    session: SessionDep,
    who: Reverser,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def action() -> PaymentRead:
        return payment_read(await reversal.reverse(session, referenceNumber, body.reason, who.subject))

    result = await run_idempotent(
        session,
        scope=f"payments.reverse:{referenceNumber}",
        key=key,
        request_body=body.model_dump(mode="json"),
        action=action,
    )
    return result.response()


@router.post(
    "/{referenceNumber}/allocation",
    response_model=PaymentRead,
    summary="Allocate a payment in suspense to a loan: PAYMENT_RECEIVED (payments:reconcile; "
    "Idempotency-Key)",
)
async def allocate_suspense(
    referenceNumber: str,
    body: SuspenseAllocationCreate,
    session: SessionDep,
    settings: SettingsDep,
    who: Reconciler,
    key: IdempotencyKey = None,
) -> JSONResponse:
    ctx = ingest_context(settings, who.subject)

    async def action() -> PaymentRead:
        row = await suspense.allocate_suspense(session, referenceNumber, body.account_number, ctx, who)
        return payment_read(row)

    result = await run_idempotent(
        session,
        scope=f"payments.allocate:{referenceNumber}",
        key=key,
        request_body=body.model_dump(mode="json"),
        action=action,
        status_code=200,
    )
    return result.response()
