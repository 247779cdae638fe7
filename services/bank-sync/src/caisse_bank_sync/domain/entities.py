"""Synchronised entity types: canonical fields, natural keys and value kinds (pure Python)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Value kind of a canonical field; decides validation and the SQL type."""

    TEXT = "text"
    CODE = "code"  # short upper-case code (status, currency, type)
    INT = "int"
    MONEY = "money"  # decimal string in major units -> BIGINT minor units of the row's currency
    DATE = "date"
    BOOL = "bool"


class SourceSystem(StrEnum):
    """Source systems the service imports from."""

    T24 = "T24"
    W4 = "W4"
    LOS = "LOS"


class SyncMode(StrEnum):
    """FULL marks records missing from the extract stale; INCREMENTAL only upserts."""

    FULL = "FULL"
    INCREMENTAL = "INCREMENTAL"


@dataclass(frozen=True, slots=True)
class Field:
    """One canonical field of an entity."""

    name: str
    kind: Kind = Kind.TEXT
    required: bool = False
    max_len: int = 200


@dataclass(frozen=True, slots=True)
class Reference:
    """A soft foreign key checked after the load (referential integrity)."""

    fields: tuple[str, ...]
    target: str
    target_fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EntitySpec:
    """An entity type: table name, natural key and canonical fields in extract order."""

    name: str
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    references: tuple[Reference, ...] = ()
    currency_field: str | None = None

    @property
    def field_names(self) -> tuple[str, ...]:
        """Canonical field names in order."""
        return tuple(f.name for f in self.fields)

    @property
    def value_fields(self) -> tuple[Field, ...]:
        """Fields that are not part of the natural key."""
        return tuple(f for f in self.fields if f.name not in self.key)

    def natural_key(self, values: dict[str, object]) -> str:
        """Natural key as one string (``:``-joined for composite keys)."""
        return ":".join(str(values[k]) for k in self.key)


def _f(name: str, kind: Kind = Kind.TEXT, required: bool = False, max_len: int = 200) -> Field:
    return Field(name, kind, required, max_len)


_SCOPE = (_f("institution_id", max_len=64), _f("agency_id", max_len=64))
_TO_CUSTOMER = Reference(("cif",), "customer", ("cif",))

CUSTOMER = EntitySpec(
    "customer",
    ("cif",),
    (
        _f("cif", required=True, max_len=32),
        _f("customer_type", Kind.CODE),
        _f("full_name", required=True),
        _f("date_of_birth", Kind.DATE),
        _f("id_number", max_len=64),
        _f("segment", Kind.CODE),
        _f("status", Kind.CODE),
        *_SCOPE,
    ),
)
PHONE = EntitySpec(
    "phone",
    ("cif", "phone_type"),
    (
        _f("cif", required=True, max_len=32),
        _f("phone_type", Kind.CODE, required=True),
        _f("number", required=True, max_len=32),
        _f("is_primary", Kind.BOOL),
    ),
    (_TO_CUSTOMER,),
)
ADDRESS = EntitySpec(
    "address",
    ("cif", "address_type"),
    (
        _f("cif", required=True, max_len=32),
        _f("address_type", Kind.CODE, required=True),
        _f("line1"),
        _f("city", max_len=100),
        _f("region", max_len=100),
        _f("country", Kind.CODE),
    ),
    (_TO_CUSTOMER,),
)
EMAIL = EntitySpec(
    "email",
    ("cif", "email_type"),
    (
        _f("cif", required=True, max_len=32),
        _f("email_type", Kind.CODE, required=True),
        _f("address", required=True),
    ),
    (_TO_CUSTOMER,),
)
LOAN = EntitySpec(
    "loan",
    ("account_number",),
    (
        _f("account_number", required=True, max_len=32),
        _f("cif", required=True, max_len=32),
        _f("product_code", Kind.CODE),
        _f("currency", Kind.CODE, required=True),
        _f("status", Kind.CODE, required=True),
        _f("original_amount", Kind.MONEY, required=True),
        _f("outstanding_principal", Kind.MONEY, required=True),
        _f("outstanding_interest", Kind.MONEY),
        _f("outstanding_penalties", Kind.MONEY),
        _f("overdue_amount", Kind.MONEY),
        _f("days_past_due", Kind.INT),
        _f("disbursement_date", Kind.DATE),
        _f("maturity_date", Kind.DATE),
        _f("next_payment_date", Kind.DATE),
        *_SCOPE,
    ),
    (_TO_CUSTOMER,),
    currency_field="currency",
)
COLLATERAL = EntitySpec(
    "collateral",
    ("collateral_number",),
    (
        _f("collateral_number", required=True, max_len=32),
        _f("cif", required=True, max_len=32),
        _f("account_number", max_len=32),
        _f("collateral_type", Kind.CODE),
        _f("description"),
        _f("currency", Kind.CODE, required=True),
        _f("value", Kind.MONEY),
    ),
    (_TO_CUSTOMER, Reference(("account_number",), "loan", ("account_number",))),
    currency_field="currency",
)
REFERENCE_CUSTOMER = EntitySpec(
    "reference_customer",
    ("primary_cif", "ref_cif"),
    (
        _f("primary_cif", required=True, max_len=32),
        _f("ref_cif", required=True, max_len=32),
        _f("relationship_type", Kind.CODE),
        _f("full_name"),
        _f("phone", max_len=32),
    ),
    (Reference(("primary_cif",), "customer", ("cif",)),),
)

# Load order matters only for readability of errors: integrity is checked after all loads.
ENTITIES: dict[str, EntitySpec] = {
    s.name: s for s in (CUSTOMER, PHONE, ADDRESS, EMAIL, LOAN, COLLATERAL, REFERENCE_CUSTOMER)
}

# ISO 4217 minor-unit exponents accepted in extracts (XOF/XAF have no minor unit).
CURRENCY_EXPONENTS: dict[str, int] = {
    "XOF": 0,
    "XAF": 0,
    "GNF": 0,
    "KMF": 0,
    "RWF": 0,
    "BIF": 0,
    "DJF": 0,
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "NGN": 2,
    "GHS": 2,
    "MAD": 2,
    "CDF": 2,
    "CHF": 2,
}


def entity(name: str) -> EntitySpec:
    """The spec of an entity type; raises KeyError for an unknown name."""
    return ENTITIES[name]
