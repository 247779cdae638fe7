"""Payment receipts: JSON view and PDF (fpdf2), with a verification code."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from caisse_shared.http.security import Principal
from fpdf import FPDF
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_payments.db import repositories as repo
from caisse_payments.domain.model import FINAL_RECEIVED, InvalidTransition, PaymentStatus
from caisse_payments.domain.receipt import code_matches, verification_code
from caisse_payments.services.queries import get_payment

RECEIPTABLE = FINAL_RECEIVED | {PaymentStatus.REVERSED}


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a receipt shows."""

    reference_number: str
    channel: str
    provider_reference: str
    transaction_type: str
    account_number: str | None
    cif: str | None
    amount: int
    currency: str
    allocated_penalties: int
    allocated_interest: int
    allocated_principal: int
    unallocated_amount: int
    status: str
    paid_at: datetime | None
    issued_at: datetime
    verification_code: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return asdict(self)


def _code(secret: str, row: Any) -> str:
    return verification_code(secret, row.reference_number, row.amount, row.currency, row.paid_at)


async def build(session: AsyncSession, reference: str, principal: Principal, secret: str) -> Receipt:
    """The receipt of a received payment (409 for pending or failed ones)."""
    row = (await get_payment(session, reference, principal)).payment
    if row.status not in RECEIPTABLE:
        raise InvalidTransition(f"payment {reference} is {row.status}; no receipt")
    return Receipt(
        reference_number=row.reference_number,
        channel=row.channel,
        provider_reference=row.provider_reference,
        transaction_type=row.transaction_type,
        account_number=row.account_number,
        cif=row.cif,
        amount=row.amount,
        currency=row.currency,
        allocated_penalties=row.allocated_penalties,
        allocated_interest=row.allocated_interest,
        allocated_principal=row.allocated_principal,
        unallocated_amount=row.unallocated_amount,
        status=row.status,
        paid_at=row.paid_at,
        issued_at=datetime.now(UTC),
        verification_code=_code(secret, row),
    )


async def verify(session: AsyncSession, reference: str, code: str, secret: str) -> bool:
    """True if ``code`` is the genuine verification code of payment ``reference``."""
    row = await repo.by_reference(session, reference)
    return row is not None and row.status in RECEIPTABLE and code_matches(_code(secret, row), code)


def _money(amount: int, currency: str) -> str:
    return f"{amount:,} {currency}".replace(",", " ")


def render_pdf(receipt: Receipt) -> bytes:
    """A one-page A5 PDF receipt."""
    pdf = FPDF(format="A5")
    pdf.set_title(f"Receipt {receipt.reference_number}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Caisse - Payment receipt / Recu de paiement", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    rows = [
        ("Reference", receipt.reference_number),
        ("Channel", receipt.channel),
        ("Provider reference", receipt.provider_reference),
        ("Transaction type", receipt.transaction_type),
        ("Loan account", receipt.account_number or "-"),
        ("Customer (CIF)", receipt.cif or "-"),
        ("Amount", _money(receipt.amount, receipt.currency)),
        ("Penalties", _money(receipt.allocated_penalties, receipt.currency)),
        ("Interest", _money(receipt.allocated_interest, receipt.currency)),
        ("Principal", _money(receipt.allocated_principal, receipt.currency)),
        ("Unallocated", _money(receipt.unallocated_amount, receipt.currency)),
        ("Status", receipt.status),
        ("Paid at (UTC)", receipt.paid_at.isoformat() if receipt.paid_at else "-"),
        ("Issued at (UTC)", receipt.issued_at.isoformat(timespec="seconds")),
    ]
    for label, value in rows:
        pdf.cell(45, 7, label)
        # wrapped, never cut: a receipt shows the whole reference a customer may quote
        pdf.multi_cell(0, 7, str(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, f"Verification code: {receipt.verification_code}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
