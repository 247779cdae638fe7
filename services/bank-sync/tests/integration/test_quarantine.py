"""Bad rows are quarantined with file, line and reason while good rows load; integrity errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from caisse_bank_sync import synthetic
from caisse_bank_sync.sources import csv_blocks

from .helpers import SERVICE_DIR, Harness


@pytest.fixture
async def h(pg, tmp_path: Path) -> Harness:
    url = await pg.migrated_database(SERVICE_DIR)
    harness = Harness(url, tmp_path)
    yield harness
    await harness.db.dispose()


def _loan(j: int, **over: str) -> dict[str, str]:
    return {**synthetic.loan_row(j, 5), **over}


async def _sync_loans(h: Harness, loans: list[dict[str, str]]) -> tuple[dict, dict[str, dict]]:
    """Sync 5 customers and these loans; the job and the loan table by account number."""
    folder = h.folder / "T24"
    synthetic.generate("T24", folder, customers=5, loans=0, entities=["customer"])
    synthetic.write_rows("T24", folder, "loan", loans, append=False)
    job, _ = await h.sync()
    return job, {r["account_number"]: r for r in await h.table("loan")}


def _line(values: dict[str, str]) -> bytes:
    from caisse_bank_sync.domain.entities import LOAN

    return (",".join(values.get(f, "") for f in LOAN.field_names) + "\n").encode()


@pytest.mark.parametrize("block_bytes", [4 << 20, 300], ids=["one-block", "many-blocks"])
async def test_bad_rows_are_quarantined_and_good_rows_load(
    h: Harness, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    # Small blocks: COPYed and Python-parsed blocks alternate; each COPY sets the line numbers.
    monkeypatch.setattr(csv_blocks, "BLOCK_BYTES", block_bytes)
    folder = h.folder / "T24"
    synthetic.generate("T24", folder, customers=5, loans=0, entities=["customer"])
    path = synthetic.write_rows("T24", folder, "loan", [_loan(0), _loan(1)], append=False)
    with path.open("ab") as fh:
        fh.write(_line(_loan(2)))  # line 4: duplicate key (twice)
        fh.write(_line(_loan(2)))  # line 5
        fh.write(_line(_loan(3, account_number="")))  # 6: missing key
        fh.write(_line(_loan(4, days_past_due="12x")))  # 7: wrong type
        fh.write(_line(_loan(5, outstanding_principal="99999999999999999999")))  # 8: overflow
        fh.write(_line(_loan(6)).replace(b"ACTIVE", b"ACTIV\xe9"))  # 9: bad encoding
        fh.write(_line(_loan(7, outstanding_principal="100.5")))  # 10: decimals in XOF
        fh.write(_line(_loan(8, currency="ZZZ")))  # 11: unknown currency
        fh.write(b"LN_SHORT,CIF1\n")  # 12: field count
        fh.write(_line(_loan(9)))  # 13: good
        fh.write(_line(_loan(10)).rstrip(b"\n")[:40])  # 14: truncated last line
    job, _ = await h.sync()
    assert job["status"] == "COMPLETED"
    loans = {r["account_number"] for r in await h.table("loan")}
    assert loans == {synthetic.account(j) for j in (0, 1, 9)}
    errors = await h.rows(
        "SELECT line, reason, file, natural_key FROM bank_sync.sync_error "
        "WHERE entity_type = 'loan' ORDER BY line"
    )
    by_line = {e["line"]: e["reason"] for e in errors}
    assert by_line.pop(9).startswith("invalid UTF-8 at byte")
    assert by_line == {
        4: "duplicate key in extract",
        5: "duplicate key in extract",
        6: "missing key account_number",
        7: "days_past_due is not an integer",
        8: "outstanding_principal overflows",
        10: "outstanding_principal has more decimals than the currency allows",
        11: "unknown currency",
        12: "expected 16 fields, got 2",
        14: "truncated last line (no end of line)",
    }
    assert all(e["file"] == "AA.ARRANGEMENT.csv" for e in errors)
    loan_detail = next(e for e in job["details"]["entities"] if e["entity"] == "loan")
    assert (loan_detail["processed"], loan_detail["errors"]) == (13, 10)


async def test_money_is_converted_exactly_by_currency_exponent(h: Harness) -> None:
    _, rows = await _sync_loans(
        h,
        [
            _loan(0, currency="EUR", outstanding_principal="1234.56", original_amount="0.10"),
            _loan(1, currency="EUR", outstanding_principal="1.005"),
            _loan(
                2,
                currency="XOF",
                outstanding_principal="9223372036854775807",
                outstanding_interest="0",
                outstanding_penalties="0",
            ),
        ],
    )
    assert rows[synthetic.account(0)]["outstanding_principal"] == 123456
    assert rows[synthetic.account(0)]["original_amount"] == 10
    assert synthetic.account(1) not in rows
    assert rows[synthetic.account(2)]["outstanding_principal"] == 9223372036854775807


async def test_codes_are_upper_cased_in_ascii_and_values_trimmed(h: Harness) -> None:
    job, rows = await _sync_loans(
        h,
        [
            _loan(0, currency="eur", status="active", product_code="  pl-\u00e9 "),
            _loan(1, currency="Xof", status="Closed"),
        ],
    )
    assert job["status"] == "COMPLETED" and job["entities_created"] == 7
    first, second = rows[synthetic.account(0)], rows[synthetic.account(1)]
    # ASCII letters only: the same on any server, whatever its locale.
    assert (first["currency"], first["status"], first["product_code"]) == ("EUR", "ACTIVE", "PL-\u00e9")
    assert (second["currency"], second["status"]) == ("XOF", "CLOSED")


async def test_amount_and_length_edge_cases(h: Harness) -> None:
    not_decimal = "outstanding_interest is not a non-negative decimal amount"
    cases = [  # (outstanding_interest, product_code, expected reason or None when the row loads)
        ("-5", "P", not_decimal),
        ("+5", "P", not_decimal),
        (".5", "P", not_decimal),
        ("NaN", "P", not_decimal),
        ("Infinity", "P", not_decimal),
        ("12abc", "P", not_decimal),
        ("1e3", "P", None),  # numeric notation, a whole amount: 1000
        ("007", "P", None),
        ("5", "\u00e9" * 32, None),  # 32 characters in 64 bytes: not too long
        ("5", "\u00e9" * 33, "product_code longer than 32 characters"),
        ("5", "P" * 33, "product_code longer than 32 characters"),
    ]
    rows = [_loan(j, outstanding_interest=a, product_code=p) for j, (a, p, _) in enumerate(cases)]
    job, loans = await _sync_loans(h, rows)
    assert job["status"] == "COMPLETED"
    errors = await h.rows("SELECT line, reason FROM bank_sync.sync_error WHERE entity_type = 'loan'")
    by_line = {e["line"]: e["reason"] for e in errors}
    assert by_line == {j + 2: r for j, (_, _, r) in enumerate(cases) if r is not None}
    assert loans[synthetic.account(6)]["outstanding_interest"] == 1000
    assert loans[synthetic.account(7)]["outstanding_interest"] == 7
    assert loans[synthetic.account(8)]["product_code"] == "\u00e9" * 32


async def test_referential_integrity_errors_are_reported(h: Harness) -> None:
    folder = h.folder / "T24"
    synthetic.generate("T24", folder, customers=3, loans=0, entities=["customer"])
    synthetic.write_rows("T24", folder, "loan", [_loan(0, cif="CIF_GHOST")], append=False)
    synthetic.write_rows(
        "T24",
        folder,
        "collateral",
        [
            {
                "collateral_number": "COL1",
                "cif": synthetic.cif(0),
                "account_number": "LN_GHOST",
                "currency": "XOF",
                "value": "1000",
            }
        ],
        append=False,
    )
    job, result = await h.sync()
    assert job["status"] == "COMPLETED"
    assert result is not None and result.integrity_errors == 2
    errs = await h.rows(
        "SELECT entity_type, natural_key, reason FROM bank_sync.sync_error "
        "WHERE kind = 'INTEGRITY' ORDER BY entity_type"
    )
    assert errs == [
        {"entity_type": "collateral", "natural_key": "COL1", "reason": "references missing loan LN_GHOST"},
        {
            "entity_type": "loan",
            "natural_key": synthetic.account(0),
            "reason": "references missing customer CIF_GHOST",
        },
    ]
    assert len(await h.table("loan")) == 1  # reported, still loaded


async def test_a_reload_reports_the_dangling_references_of_the_rows_it_wrote(h: Harness) -> None:
    folder = h.folder / "T24"
    synthetic.generate("T24", folder, customers=3, loans=0, entities=["customer"])
    loans = [_loan(j, cif=synthetic.cif(j % 3)) for j in range(25)]
    loans[1] = _loan(1, cif="CIF_GHOST")
    synthetic.write_rows("T24", folder, "loan", loans, append=False)
    first, _ = await h.sync()
    # The reload changes loan 2 to a missing customer and leaves loan 1 (already reported) as
    # is: one row written out of 25, found through the typed table (a first load scans).
    loans[2] = _loan(2, cif="CIF_GONE")
    synthetic.write_rows("T24", folder, "loan", loans, append=False)
    job, result = await h.sync()
    assert job["status"] == "COMPLETED" and job["entities_updated"] == 1
    assert result is not None and result.integrity_errors == 1
    errs = await h.rows(
        "SELECT job_id, natural_key, reason FROM bank_sync.sync_error WHERE kind = 'INTEGRITY'"
        " ORDER BY created_at, natural_key"
    )
    assert [(e["job_id"], e["natural_key"], e["reason"]) for e in errs] == [
        (first["id"], synthetic.account(1), "references missing customer CIF_GHOST"),
        (job["id"], synthetic.account(2), "references missing customer CIF_GONE"),
    ]


async def test_missing_column_fails_the_sync_cleanly(h: Harness) -> None:
    folder = h.folder / "T24"
    folder.mkdir(parents=True)
    (folder / "CUSTOMER.csv").write_text("CUSTOMER.ID,SHORT.NAME\nC1,Awa\n")
    job, result = await h.sync()
    assert result is None and job["status"] == "FAILED"
    assert "missing columns" in job["error_message"]
    failed = await h.outbox("banksync.SyncFailed")
    assert failed[0]["source_system"] == "T24" and "missing columns" in failed[0]["error"]
    assert await h.table("customer") == []


# Lines (each starting with its customer's number), customers whose email loads, and the
# quarantined lines. Each file has the delimiter total of its good lines, so only COPY itself
# can refuse the block; Python then parses it (an empty line is skipped, as csv reads it).
_UNEVEN = {
    "a line too long and one too short": (
        [b"0,HOME,a@x.sn,extra", b"1,HOME", b"2,WORK,c@x.sn"],
        [2],
        [(2, "expected 3 fields, got 4"), (3, "expected 3 fields, got 2")],
    ),
    "an empty line (skipped) and a line two fields too long": (
        [b"0,HOME,a@x.sn", b"", b"1,HOME,b@x.sn,x,y", b"2,WORK,c@x.sn"],
        [0, 2],
        [(4, "expected 3 fields, got 5")],
    ),
}


@pytest.mark.parametrize("case", list(_UNEVEN))
async def test_uneven_lines_refused_by_copy_are_parsed_and_quarantined(h: Harness, case: str) -> None:
    lines, loaded, quarantined = _UNEVEN[case]
    folder = h.folder / "T24"
    synthetic.generate("T24", folder, customers=3, loans=0, entities=["customer"])
    body = [synthetic.cif(int(ln[:1])).encode() + ln[1:] if ln else ln for ln in lines]
    (folder / "CUSTOMER.EMAIL.csv").write_bytes(b"\n".join([b"CUSTOMER.ID,EMAIL.TYPE,ADDRESS", *body, b""]))
    job, _ = await h.sync()
    assert job["status"] == "COMPLETED"
    assert [r["cif"] for r in await h.table("email")] == [synthetic.cif(i) for i in loaded]
    errors = await h.rows(
        "SELECT line, reason FROM bank_sync.sync_error WHERE entity_type = 'email' ORDER BY line"
    )
    assert [(e["line"], e["reason"]) for e in errors] == quarantined


async def test_copied_and_parsed_blocks_number_lines_alike(h: Harness) -> None:
    folder = h.folder / "T24"
    synthetic.generate("T24", folder, customers=5, loans=0, entities=["customer"])
    path = synthetic.write_rows("T24", folder, "loan", [_loan(0), _loan(1)], append=False)
    with path.open("ab") as fh:
        fh.write(_line(_loan(2, days_past_due="x")))  # line 4, in a block COPYed as bytes
    plain = await _sync_errors(h)
    path.write_bytes(path.read_bytes().replace(b"XOF", b'"XOF"'))  # quotes: parsed in Python
    assert await _sync_errors(h) == plain == [(4, "days_past_due is not an integer")]


async def _sync_errors(h: Harness) -> list[tuple[int, str]]:
    job, _ = await h.sync()
    rows = await h.rows(
        "SELECT line, reason FROM bank_sync.sync_error WHERE job_id = :j AND entity_type = 'loan'",
        j=job["id"],
    )
    return [(r["line"], r["reason"]) for r in rows]


async def test_a_duplicated_unchanged_row_is_quarantined_on_a_reload(h: Harness) -> None:
    folder = h.folder / "T24"
    synthetic.generate("T24", folder, customers=5, loans=0, entities=["customer"])
    path = synthetic.write_rows("T24", folder, "loan", [_loan(0), _loan(1)], append=False)
    first, _ = await h.sync()
    assert first["entities_created"] == 7
    with path.open("ab") as fh:
        fh.write(_line(_loan(1)))  # line 4: same text as line 3, whose hash matches its record
    job, _ = await h.sync()
    errors = await h.rows(
        "SELECT line, reason FROM bank_sync.sync_error WHERE job_id = :j ORDER BY line", j=job["id"]
    )
    assert errors == [{"line": n, "reason": "duplicate key in extract"} for n in (3, 4)]
    assert (job["errors"], job["entities_stale"]) == (2, 0)  # quarantined, yet not missing
