"""Pure domain: allocation, signatures, channel transforms, reconciliation, receipt codes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from caisse_payments.domain import signature
from caisse_payments.domain.allocation import (
    Component,
    LoanDues,
    allocate,
    parse_order,
)
from caisse_payments.domain.channels import TRANSFORMS, from_kkiapay, from_mtn_momo
from caisse_payments.domain.model import (
    Channel,
    InvalidNotification,
    Notification,
    NotificationOutcome,
    PaymentStatus,
    SignatureInvalid,
    TimestampExpired,
    TransactionType,
)
from caisse_payments.domain.receipt import code_matches, verification_code
from caisse_payments.domain.reconciliation import (
    InternalRecord,
    IssueKind,
    StatementInvalid,
    parse_statement,
    reconcile,
)

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def note(amount: int = 1000, account: str | None = "L1", **kw: object) -> Notification:
    return Notification(
        channel=Channel.BRANCH,
        provider_reference="R1",
        amount=amount,
        currency=str(kw.pop("currency", "XOF")),
        outcome=NotificationOutcome.SUCCESS,
        paid_at=NOW,
        account_number=account,
        **kw,
    )  # type: ignore[arg-type]


LOAN = LoanDues("L1", "C1", "XOF", "ACTIVE", penalties=100, interest=200, principal=1000)


def test_allocation_default_order_and_overpayment() -> None:
    a = allocate(note(250), LOAN)
    assert (a.penalties, a.interest, a.principal, a.unallocated) == (100, 150, 0, 0)
    over = allocate(note(1500), LOAN)
    assert (over.allocated, over.unallocated, over.review_reason) == (1300, 200, "overpayment")
    assert over.status is PaymentStatus.ALLOCATED


def test_allocation_configurable_order() -> None:
    order = parse_order(["principal", "interest", "penalties"])
    a = allocate(note(1100), LOAN, order)
    assert (a.principal, a.interest, a.penalties) == (1000, 100, 0)
    with pytest.raises(ValueError):
        parse_order(["PRINCIPAL", "PRINCIPAL", "INTEREST"])
    assert order[0] is Component.PRINCIPAL


@pytest.mark.parametrize(
    ("loan", "n", "why"),
    [
        (None, note(), "unknown"),
        (LoanDues("L1", "C1", "XOF", "CLOSED", 0, 0, 10), note(), "CLOSED"),
        (LOAN, note(currency="XAF"), "currency"),
        (LoanDues("L1", "C1", "XOF", "ACTIVE", 0, 0, 0), note(), "nothing"),
    ],
)
def test_suspense_never_rejects(loan: LoanDues | None, n: Notification, why: str) -> None:
    a = allocate(n, loan)
    assert a.status is PaymentStatus.UNALLOCATED
    assert a.unallocated == n.amount
    assert why in (a.review_reason or "")


def test_non_loan_types_are_received() -> None:
    a = allocate(note(transaction_type=TransactionType.DEPOT_EPARGNE), None)
    assert a.status is PaymentStatus.RECEIVED


@pytest.mark.parametrize(
    ("amount", "currency"), [(0, "XOF"), (-1, "XOF"), (True, "XOF"), (10, "xof"), (10, "XO")]
)
def test_notification_rejects_bad_money(amount: int, currency: str) -> None:
    with pytest.raises(InvalidNotification):
        note(amount, currency=currency)


def test_signature_window_and_tamper() -> None:
    body, ts = b'{"a":1}', "1700000000"
    sig = signature.sign("s3cret", ts, body)
    signature.verify("s3cret", ts, sig, body, now=1700000100, tolerance_s=300)
    with pytest.raises(SignatureInvalid):
        signature.verify("s3cret", ts, sig, body + b" ", now=1700000100, tolerance_s=300)
    with pytest.raises(SignatureInvalid):
        signature.verify("other", ts, sig, body, now=1700000100, tolerance_s=300)
    with pytest.raises(SignatureInvalid):
        signature.verify("s3cret", "soon", sig, body, now=1700000100, tolerance_s=300)
    with pytest.raises(TimestampExpired):
        signature.verify("s3cret", ts, sig, body, now=1700000301, tolerance_s=300)
    assert signature.delivery_id(sig) == signature.delivery_id(f" {sig} ")


def test_channel_transforms() -> None:
    k = from_kkiapay(
        {
            "transactionId": "T1",
            "isPaymentSucces": True,
            "amount": 500,
            "stateData": {"account_number": "L9", "transaction_type": "retrait_tontine"},
        },
        NOW,
    )
    assert (k.account_number, k.transaction_type, k.currency) == (
        "L9",
        TransactionType.RETRAIT_TONTINE,
        "XOF",
    )
    m = from_mtn_momo(
        {
            "financialTransactionId": "M1",
            "amount": "700",
            "currency": "XOF",
            "status": "FAILED",
            "reason": "LOW_BALANCE",
        },
        NOW,
    )
    assert (m.amount, m.outcome, m.failure_reason) == (700, NotificationOutcome.FAILED, "LOW_BALANCE")
    with pytest.raises(InvalidNotification):
        from_mtn_momo(
            {"financialTransactionId": "M1", "amount": "7.5", "currency": "XOF", "status": "SUCCESSFUL"}, NOW
        )
    with pytest.raises(InvalidNotification):
        from_kkiapay({"isPaymentSucces": True, "amount": 5}, NOW)
    assert set(TRANSFORMS) == {"notification", "kkiapay", "mtn-momo", "moov", "bank-transfer"}


def test_reconcile_each_kind() -> None:
    lines = parse_statement(
        "provider_reference,amount,currency,date\n"
        "A,10,XOF,2025-01-01\nB,25,XOF,2025-01-01\nC,30,XOF,2025-01-09\n"
        "D,40,XOF,2025-01-01\nD,40,XOF,2025-01-01\nE,50,XOF,2025-01-01\n"
    )
    d = date(2025, 1, 1)
    ours = [
        InternalRecord(r, amt, "XOF", d, f"id-{r}", f"PAY-{r}")
        for r, amt in (("A", 10), ("B", 20), ("C", 30), ("D", 40), ("F", 60))
    ]
    report = reconcile(lines, ours, date_tolerance_days=1)
    kinds = {(x.kind, x.provider_reference) for x in report.discrepancies}
    assert kinds == {
        (IssueKind.AMOUNT_MISMATCH, "B"),
        (IssueKind.DATE_MISMATCH, "C"),
        (IssueKind.DUPLICATE, "D"),
        (IssueKind.MISSING_INTERNAL, "E"),
        (IssueKind.MISSING_PROVIDER, "F"),
    }
    assert report.matched == 2  # A and D (D is also flagged duplicate)


@pytest.mark.parametrize(
    "text",
    [
        "ref,amount\nA,1\n",
        "provider_reference,amount,currency,date\nA,-1,XOF,2025-01-01\n",
        "provider_reference,amount,currency,date\nA,1,XOF,01/02/2025\n",
    ],
)
def test_statement_parse_errors(text: str) -> None:
    with pytest.raises(StatementInvalid):
        parse_statement(text)


def test_receipt_code() -> None:
    code = verification_code("k", "PAY1", 100, "XOF", NOW)
    assert code_matches(code, code.lower())
    assert not code_matches(code, verification_code("k", "PAY1", 101, "XOF", NOW))
    assert not code_matches(code, verification_code("other", "PAY1", 100, "XOF", NOW))
