"""Synthetic extracts in each source's layout (demo, tests, benchmarks).

    from caisse_bank_sync.synthetic import generate, write_rows
    generate("T24", out_dir, customers=100, loans=150, seed=1)
    write_rows("T24", out_dir, "loan", [{"account_number": "LN1", "cif": "CIF00000001", ...}])

Values are deterministic functions of the row index and ``seed``; ``change_ratio`` alters a
deterministic subset of loans and customers (same keys) to simulate the next day's extract.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from caisse_bank_sync.domain.entities import ENTITIES
from caisse_bank_sync.domain.layouts import Layout, layout

FIRST = (
    "Aminata",
    "Moussa",
    "Fatou",
    "Ibrahima",
    "Awa",
    "Seydou",
    "Mariam",
    "Ousmane",
    "Adama",
    "Kadiatou",
    "Boubacar",
    "Aissatou",
    "Mamadou",
    "Rokia",
    "Cheikh",
    "Ndeye",
)
LAST = (
    "Traore",
    "Diallo",
    "Kone",
    "Ouedraogo",
    "Sow",
    "Ndiaye",
    "Keita",
    "Coulibaly",
    "Sanogo",
    "Diop",
    "Camara",
    "Toure",
    "Ba",
    "Kabore",
    "Sylla",
    "Fall",
)
CITIES = ("Dakar", "Abidjan", "Bamako", "Ouagadougou", "Niamey", "Lome", "Cotonou", "Thies")
PRODUCTS = ("MICRO-AGRI", "MICRO-COMM", "SALARY", "SME-TERM", "GROUP-LOAN")


def cif(i: int) -> str:
    """CIF of synthetic customer ``i``."""
    return f"CIF{i:08d}"


def account(j: int) -> str:
    """Account number of synthetic loan ``j``."""
    return f"LN{j:010d}"


def _changed(i: int, seed: int, ratio: float) -> bool:
    return ratio > 0 and ((i * 2654435761 + seed * 97) % 10_000) < ratio * 10_000


def customer_row(i: int, seed: int = 0, change_ratio: float = 0.0) -> dict[str, Any]:
    """Canonical customer ``i``."""
    h = i * 7919 + seed
    seg = "PREMIUM" if _changed(i, seed + 1, change_ratio) else ("RETAIL", "SME", "MICRO")[h % 3]
    return {
        "cif": cif(i),
        "customer_type": "ORGANIZATION" if h % 11 == 0 else "INDIVIDUAL",
        "full_name": f"{FIRST[h % 16]} {LAST[(h // 16) % 16]}",
        "date_of_birth": f"{1950 + h % 50}-{1 + h % 12:02d}-{1 + h % 28:02d}",
        "id_number": f"ID{h % 10**9:09d}",
        "segment": seg,
        "status": "ACTIVE",
        "institution_id": f"INST{1 + i % 3}",
        "agency_id": f"AG{1 + i % 20:03d}",
    }


def loan_row(
    j: int, customers: int, seed: int = 0, change_ratio: float = 0.0, delinquent_ratio: float = 0.1
) -> dict[str, Any]:
    """Canonical loan ``j`` of customer ``j % customers``; amounts in XOF (no minor unit)."""
    h = j * 104729 + seed
    principal = (h % 9000 + 1000) * 1000
    delinquent = (j * 31 + seed) % 1000 < delinquent_ratio * 1000
    dpd = 1 + h % 150 if delinquent else 0
    if _changed(j, seed + 2, change_ratio):
        dpd += 1  # the next day: every changed loan ages by one day
    c = j % customers
    return {
        "account_number": account(j),
        "cif": cif(c),
        "product_code": PRODUCTS[h % 5],
        "currency": "XOF",
        "status": "ACTIVE",
        "original_amount": str(principal * 2),
        "outstanding_principal": str(principal),
        "outstanding_interest": str(principal // 20),
        "outstanding_penalties": str(dpd * 500),
        "overdue_amount": str(dpd * 1000),
        "days_past_due": str(dpd),
        "disbursement_date": f"{2020 + h % 4}-{1 + h % 12:02d}-15",
        "maturity_date": f"{2026 + h % 4}-{1 + h % 12:02d}-15",
        "next_payment_date": f"2025-{1 + h % 12:02d}-05",
        "institution_id": f"INST{1 + c % 3}",
        "agency_id": f"AG{1 + c % 20:03d}",
    }


def _children(i: int) -> dict[str, list[dict[str, Any]]]:
    h = i * 7919
    c = cif(i)
    return {
        "phone": [
            {"cif": c, "phone_type": "MOBILE", "number": f"+2217{h % 10**8:08d}", "is_primary": "true"}
        ],
        "address": [
            {
                "cif": c,
                "address_type": "HOME",
                "line1": f"{1 + h % 200} Rue {h % 90}",
                "city": CITIES[h % 8],
                "region": CITIES[h % 8],
                "country": "SN",
            }
        ],
        "email": [{"cif": c, "email_type": "PERSONAL", "address": f"client{i}@example.sn"}]
        if i % 3 == 0
        else [],
        "reference_customer": [
            {
                "primary_cif": c,
                "ref_cif": cif(i + 1),
                "relationship_type": "GUARANTOR",
                "full_name": "Garant",
                "phone": f"+2217{(h + 1) % 10**8:08d}",
            }
        ]
        if i % 5 == 0
        else [],
    }


def _rows(
    entity: str, customers: int, loans: int, seed: int, change_ratio: float, delinquent_ratio: float
) -> Iterator[Mapping[str, Any]]:
    if entity == "customer":
        yield from (customer_row(i, seed, change_ratio) for i in range(customers))
    elif entity == "loan":
        yield from (loan_row(j, customers, seed, change_ratio, delinquent_ratio) for j in range(loans))
    elif entity == "collateral":
        for j in range(0, loans, 4):
            lr = loan_row(j, customers, seed)
            yield {
                "collateral_number": f"COL{j:010d}",
                "cif": lr["cif"],
                "account_number": lr["account_number"],
                "collateral_type": "PROPERTY",
                "description": "Parcelle",
                "currency": "XOF",
                "value": str(int(lr["original_amount"]) * 2),
            }
    else:
        for i in range(customers - 1):
            yield from _children(i)[entity]


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _write(lay: Layout, path: Path, rows: Iterable[Mapping[str, Any]], append: bool) -> int:
    fields = ENTITIES[lay.entity].field_names
    cols = [lay.column_for(f) for f in fields]
    new = not (append and path.exists())
    n = 0
    with path.open("w" if new else "a", encoding="utf-8", newline="") as fh:
        if lay.fmt == "jsonl":
            for r in rows:
                fh.write(json.dumps({c: r.get(f) for c, f in zip(cols, fields, strict=True)}))
                fh.write("\n")
                n += 1
            return n
        w = csv.writer(fh, delimiter=lay.delimiter, lineterminator="\n")
        if new:
            w.writerow(cols)
        for r in rows:
            w.writerow([_cell(r.get(f)) for f in fields])
            n += 1
    return n


def write_rows(
    source: str, out_dir: Path, entity: str, rows: Iterable[Mapping[str, Any]], *, append: bool = True
) -> Path:
    """Write canonical rows (field names of the entity spec) in ``source``'s layout."""
    lay = layout(source, entity)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write(lay, out / lay.file_name, rows, append)
    return out / lay.file_name


def generate(
    source: str,
    out_dir: Path,
    *,
    customers: int = 100,
    loans: int = 150,
    seed: int = 0,
    change_ratio: float = 0.0,
    delinquent_ratio: float = 0.1,
    entities: Iterable[str] | None = None,
) -> dict[str, Path]:
    """Write a full extract of ``source`` into ``out_dir``; returns entity → file."""
    out: dict[str, Path] = {}
    for entity in entities or ENTITIES:
        rows = _rows(entity, customers, loans, seed, change_ratio, delinquent_ratio)
        out[entity] = write_rows(source, out_dir, entity, rows, append=False)
    return out
