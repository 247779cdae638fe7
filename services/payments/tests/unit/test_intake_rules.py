"""Pure rules of provider input: currencies, amounts, dates, identifiers, transaction types."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from caisse_payments.domain.model import (
    Channel,
    InvalidNotification,
    Notification,
    NotificationOutcome,
)
from caisse_payments.domain.reconciliation import StatementInvalid, parse_statement

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _note(currency: str) -> Notification:
    return Notification(
        channel=Channel.BRANCH,
        provider_reference="R1",
        amount=100,
        currency=currency,
        outcome=NotificationOutcome.SUCCESS,
        paid_at=NOW,
    )


@pytest.mark.parametrize("code", ["XOF", "XAF", "EUR", "USD", "GHS", "NGN", "ZWG", "XCG"])
def test_iso_4217_currencies_are_accepted(code: str) -> None:
    assert _note(code).currency == code


@pytest.mark.parametrize("code", ["ZZZ", "XXX", "XTS", "XAU", "xof", "HRK", "", "XO", "XOFF"])
def test_other_codes_are_refused(code: str) -> None:
    with pytest.raises(InvalidNotification, match="ISO 4217"):
        _note(code)


def test_the_table_is_the_published_list() -> None:
    from caisse_payments.domain.currencies import ISO_4217, ISO_4217_PUBLISHED
    from caisse_payments.domain.model import is_currency

    assert (len(ISO_4217), ISO_4217_PUBLISHED) == (165, "2026-01-01")
    assert is_currency("XOF") and not is_currency("ZZZ") and not is_currency(None)
    assert all(len(c) == 3 and c.isascii() and c.isupper() for c in ISO_4217)


def test_statement_lines_need_an_iso_currency() -> None:
    with pytest.raises(StatementInvalid):
        parse_statement("provider_reference,amount,currency,date\nA,10,ZZZ,2025-01-01\n")
