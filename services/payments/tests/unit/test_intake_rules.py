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


def test_identifier_limits_are_the_columns() -> None:
    from caisse_payments.db.models import payment
    from caisse_payments.domain.identifiers import MAX_LENGTH

    assert {name: payment.c[name].type.length for name in MAX_LENGTH} == MAX_LENGTH


def test_a_reference_too_long_is_stored_as_its_digest_never_cut() -> None:
    from caisse_payments.domain.identifiers import stored_reference

    a, b = "x" * 120 + "A", "x" * 120 + "B"
    (da, note), (db, _) = stored_reference(a), stored_reference(b)
    assert da != db and len(da) == len("sha256:") + 64
    assert stored_reference(a)[0] == da  # a retry finds the same payment
    assert note is not None and "121 characters" in note
    assert stored_reference("x" * 120) == ("x" * 120, None)


def test_a_date_outside_the_bounds_is_flagged_and_dated_on_receipt() -> None:
    from dataclasses import replace
    from datetime import date, timedelta, timezone

    from caisse_payments.domain.model import DateBounds, check_paid_at

    bounds = DateBounds.of(date(2000, 1, 1), 3600)
    ok = _note("XOF")
    assert check_paid_at(ok, NOW, bounds) is ok
    for paid_at in (
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        NOW + timedelta(hours=2),
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
    ):
        checked = check_paid_at(replace(ok, paid_at=paid_at), NOW, bounds)
        assert checked.paid_at == NOW
        assert "outside 2000-01-01" in checked.review_notes[0]
    failed = replace(ok, outcome=NotificationOutcome.FAILED, paid_at=datetime(1, 1, 1, tzinfo=UTC))
    assert check_paid_at(failed, NOW, bounds) is failed  # no date is stored for a failure
