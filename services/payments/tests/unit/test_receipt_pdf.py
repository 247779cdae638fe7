"""The PDF receipt shows every identifier whole (wrapped, never cut)."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime

from caisse_payments.services.receipts import Receipt, render_pdf


def _shown_text(pdf: bytes) -> str:
    """The text drawn by the PDF's content streams, concatenated."""
    shown = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        shown += [m.decode("latin-1") for m in re.findall(rb"\((.*?)\)\s*Tj", content, re.S)]
    return "".join(shown)


def test_a_long_provider_reference_is_printed_whole() -> None:
    reference = "KK" + "0123456789" * 11 + "END"
    receipt = Receipt(
        reference_number="PAY2501010123456789AB",
        channel="KKIAPAY",
        provider_reference=reference,
        transaction_type="REMBOURSEMENT_PRET",
        account_number="LN" + "7" * 58,
        cif=None,
        amount=1_000,
        currency="XOF",
        allocated_penalties=0,
        allocated_interest=0,
        allocated_principal=1_000,
        unallocated_amount=0,
        status="ALLOCATED",
        paid_at=datetime(2025, 1, 1, tzinfo=UTC),
        issued_at=datetime(2025, 1, 2, tzinfo=UTC),
        verification_code="ABCD-EFGH-IJKL-MNOP",
    )
    text = _shown_text(render_pdf(receipt))
    assert reference in text
    assert "LN" + "7" * 58 in text
