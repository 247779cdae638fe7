"""Per-source extract layouts: file name, format and source column for each canonical field."""

from __future__ import annotations

from dataclasses import dataclass

from caisse_bank_sync.domain.entities import ENTITIES, EntitySpec


@dataclass(frozen=True, slots=True)
class Layout:
    """How one source writes one entity: file, format (csv/jsonl), delimiter and column names."""

    source: str
    entity: str
    file_name: str
    fmt: str  # csv | jsonl
    delimiter: str
    columns: dict[str, str]  # canonical field -> source column

    def column_for(self, field: str) -> str:
        """The source column holding a canonical field."""
        return self.columns[field]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


# T24 (Temenos): CSV, comma, upper-case dotted column names as in T24 enquiry extracts.
_T24_FILES = {
    "customer": "CUSTOMER",
    "phone": "CUSTOMER.PHONE",
    "address": "CUSTOMER.ADDRESS",
    "email": "CUSTOMER.EMAIL",
    "loan": "AA.ARRANGEMENT",
    "collateral": "COLLATERAL",
    "reference_customer": "CUSTOMER.RELATION",
}
_T24_COLS = {
    "cif": "CUSTOMER.ID",
    "account_number": "ARRANGEMENT.ID",
    "full_name": "SHORT.NAME",
    "id_number": "LEGAL.ID",
    "institution_id": "COMPANY.BOOK",
    "agency_id": "DEPT.CODE",
    "days_past_due": "DAYS.OVERDUE",
    "collateral_number": "COLLATERAL.ID",
    "primary_cif": "CUSTOMER.ID",
    "ref_cif": "RELATION.CUSTOMER",
}
# W4 (OpenWay Way4): JSON Lines, camelCase keys.
_W4_FILES = {
    "customer": "clients",
    "phone": "client_phones",
    "address": "client_addresses",
    "email": "client_emails",
    "loan": "contracts",
    "collateral": "securities",
    "reference_customer": "client_relations",
}
_W4_COLS = {
    "cif": "clientId",
    "account_number": "contractNumber",
    "full_name": "clientName",
    "days_past_due": "overdueDays",
    "primary_cif": "clientId",
    "ref_cif": "relatedClientId",
}
# LOS (loan origination system): CSV, semicolon, snake_case with LOS names.
_LOS_FILES = {
    "customer": "los_borrowers",
    "phone": "los_borrower_phones",
    "address": "los_borrower_addresses",
    "email": "los_borrower_emails",
    "loan": "los_loans",
    "collateral": "los_guarantees",
    "reference_customer": "los_guarantors",
}
_LOS_COLS = {
    "cif": "borrower_id",
    "account_number": "loan_id",
    "full_name": "borrower_name",
    "collateral_number": "guarantee_id",
    "primary_cif": "borrower_id",
    "ref_cif": "guarantor_id",
}


def _layout(source: str, spec: EntitySpec) -> Layout:
    """Build the layout of one entity for one source from the naming rules above."""
    if source == "T24":
        cols = {f: _T24_COLS.get(f, f.upper().replace("_", ".")) for f in spec.field_names}
        return Layout(source, spec.name, f"{_T24_FILES[spec.name]}.csv", "csv", ",", cols)
    if source == "W4":
        cols = {f: _W4_COLS.get(f, _camel(f)) for f in spec.field_names}
        return Layout(source, spec.name, f"{_W4_FILES[spec.name]}.jsonl", "jsonl", "", cols)
    if source == "LOS":
        cols = {f: _LOS_COLS.get(f, f) for f in spec.field_names}
        return Layout(source, spec.name, f"{_LOS_FILES[spec.name]}.csv", "csv", ";", cols)
    raise KeyError(f"unknown source system {source!r}")


LAYOUTS: dict[tuple[str, str], Layout] = {
    (src, name): _layout(src, spec) for src in ("T24", "W4", "LOS") for name, spec in ENTITIES.items()
}


def layout(source: str, entity: str) -> Layout:
    """Layout of ``entity`` in ``source`` extracts; KeyError if unknown."""
    return LAYOUTS[(source, entity)]
