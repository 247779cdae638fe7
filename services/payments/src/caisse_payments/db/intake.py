"""A new notification in ONE statement (one round trip): replay guard, payment, history, outbox.

``INTAKE`` runs inside the caller's transaction. A data-modifying CTE, atomically:

1. ``claim``: record the signed delivery (replay guard; skipped when there is no delivery);
2. ``ins``: insert the payment only if the delivery was claimed, ``ON CONFLICT (channel,
   provider_reference) DO NOTHING`` (exactly once), with the loan's institution looked up inline;
3. ``hist``: the first ``payment_history`` row, only if the payment was inserted;
4. ``ob``: the outbox event (already Avro-encoded), only if the payment was inserted.

It returns ``claimed`` and the inserted payment's columns (all NULL when the provider reference
already existed: the caller takes the duplicate path in the same transaction). History and event
are optional: a loan repayment is allocated afterwards under the loan's row lock, which writes them.

``STANDALONE_INTAKE`` is the autocommit variant for webhooks (a single statement is atomic on
its own). It records the delivery only together with what it answers: the new payment, or a
known one that a retry neither completes nor disagrees with (``known``, the SQL form of
``domain.duplicates``: same amount and currency, and the account, CIF, type and outcome it states).
Any other case writes nothing and returns NULL columns, and the caller runs the transactional path
(which records a conflicting retry and flags the payment). It runs
on the pooled connection's asyncpg driver (``db.driver``), prepared once per connection (asyncpg's
statement cache): SQLAlchemy's execution layer cost ~250 us of CPU per webhook, more than the
statement.

Parameters are cast to unbounded types (``VARCHAR``, not the column's ``VARCHAR(n)``): an
explicit cast to ``VARCHAR(n)`` silently cuts a longer value, while storing an unbounded one in
the column refuses it ("value too long"). Identifiers are never cut (``domain.identifiers``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Boolean, Column, String, TextualSelect, bindparam, column, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from caisse_payments.config import SCHEMA
from caisse_payments.db.driver import driver_connection
from caisse_payments.db.models import payment
from caisse_payments.db.repositories import PaymentRow, loan_dues
from caisse_payments.domain.allocation import Allocation, LoanDues

# Columns the intake sets; the rest (received_at, updated_at, original_payment_id) keep defaults.
SERVER_SIDE = frozenset({"received_at", "updated_at", "original_payment_id", "institution_id"})
INSERTED = tuple(c for c in payment.c if c.name not in SERVER_SIDE)
# Columns read back: all but the provider's raw payload (nothing reads it here; decoding costs).
RETURNED = tuple(c for c in payment.c if c.name != "raw")
EVENT_FIELDS = ("event_id", "event_type", "schema_version", "topic", "key", "payload", "headers")
_EVENT_TYPES = {
    "event_id": "UUID",
    "event_type": "VARCHAR",
    "schema_version": "INTEGER",
    "topic": "VARCHAR",
    "key": "TEXT",
    "payload": "BYTEA",
    "headers": "JSONB",
}


_PG = PGDialect()  # type: ignore[no-untyped-call]


def _cast(name: str, sql_type: str) -> str:
    return f"CAST(:{name} AS {sql_type})"


def _type(col: Column[Any]) -> str:
    """The column's type for a parameter cast, strings without their length (see above)."""
    if isinstance(col.type, String):
        return "VARCHAR"
    return str(col.type.compile(dialect=_PG))


_CLAIM_FIRST = f"""claim AS (
    INSERT INTO {SCHEMA}.webhook_delivery (channel, delivery_id)
    SELECT CAST(:d_channel AS VARCHAR), CAST(:d_id AS VARCHAR)
    WHERE CAST(:d_id AS VARCHAR) IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
)"""
_CLAIMED_FIRST = "(CAST(:d_id AS VARCHAR) IS NULL OR EXISTS (SELECT 1 FROM claim))"
_SEEN = f"""seen AS (
    SELECT 1 FROM {SCHEMA}.webhook_delivery
    WHERE channel = CAST(:d_channel AS VARCHAR) AND delivery_id = CAST(:d_id AS VARCHAR)
)"""  # noqa: S608
_NOT_SEEN = "(NOT EXISTS (SELECT 1 FROM seen))"
# A retry answered with the stored payment unchanged: same amount and currency, nothing it
# states differs (domain.duplicates.disagreements: the account, CIF and type it gives, FAILED
# after money in) and nothing it completes (domain.duplicates.completes). Anything else goes
# to the transactional path, which records a conflict or completes the payment.
_KNOWN = f""", known AS (
    SELECT p.* FROM {SCHEMA}.payment p
    WHERE p.channel = CAST(:channel AS VARCHAR)
      AND p.provider_reference = CAST(:provider_reference AS VARCHAR)
      AND {_NOT_SEEN}
      AND p.amount = CAST(:amount AS BIGINT) AND p.currency = CAST(:currency AS VARCHAR)
      AND (CAST(:account_number AS VARCHAR) IS NULL
           OR p.account_number IS NOT DISTINCT FROM CAST(:account_number AS VARCHAR))
      AND (CAST(:cif AS VARCHAR) IS NULL OR p.cif IS NOT DISTINCT FROM CAST(:cif AS VARCHAR))
      AND (CAST(:compare_type AS VARCHAR) IS NULL
           OR p.transaction_type = CAST(:compare_type AS VARCHAR))
      AND (CAST(:outcome AS TEXT) = 'PENDING'
           OR (p.status = 'FAILED' AND CAST(:outcome AS TEXT) = 'FAILED')
           OR (p.status NOT IN ('PENDING', 'FAILED') AND CAST(:outcome AS TEXT) = 'SUCCESS'))
), claim_new AS (
    INSERT INTO {SCHEMA}.webhook_delivery (channel, delivery_id)
    SELECT CAST(:d_channel AS VARCHAR), CAST(:d_id AS VARCHAR) FROM ins
), claim_known AS (
    INSERT INTO {SCHEMA}.webhook_delivery (channel, delivery_id)
    SELECT CAST(:d_channel AS VARCHAR), CAST(:d_id AS VARCHAR) FROM known
    ON CONFLICT DO NOTHING
    RETURNING 1
)"""  # noqa: S608
_STANDALONE_CLAIMED = (
    f"({_NOT_SEEN} AND (NOT EXISTS (SELECT 1 FROM known) OR EXISTS (SELECT 1 FROM claim_known)))"  # noqa: S608
)
_STANDALONE_ROWS = "(SELECT true AS created, ins.* FROM ins UNION ALL SELECT false, known.* FROM known)"


# A new loan repayment, allocated beforehand under the loan's row lock: its allocation lines
# and the loan's balances (services.ingest._allocate's writes, for a payment just inserted).
_APPLY = f""", lines AS (
    INSERT INTO {SCHEMA}.payment_allocation (payment_id, account_number, component, amount)
    SELECT ins.id, ins.account_number, part.component, part.amount
    FROM ins, unnest(CAST(:a_components AS VARCHAR(20)[]), CAST(:a_amounts AS BIGINT[]))
         AS part(component, amount)
), debit AS (
    UPDATE {SCHEMA}.loan AS l
    SET outstanding_penalties = l.outstanding_penalties - CAST(:a_penalties AS BIGINT),
        outstanding_interest = l.outstanding_interest - CAST(:a_interest AS BIGINT),
        outstanding_principal = l.outstanding_principal - CAST(:a_principal AS BIGINT)
    FROM ins WHERE l.account_number = ins.account_number AND CAST(:a_debit AS BOOLEAN)
)"""  # noqa: S608
LOCK_LOAN = f"""SELECT account_number, cif, currency, status, outstanding_penalties,
       outstanding_interest, outstanding_principal
FROM {SCHEMA}.loan WHERE account_number = $1 FOR UPDATE"""  # noqa: S608


def _sql(guard: str, may_insert: str, claimed: str, after_insert: str = "", rows: str = "ins") -> str:
    names = ", ".join(c.name for c in INSERTED)
    casts = ", ".join(_cast(c.name, _type(c)) for c in INSERTED)
    event_casts = ", ".join(_cast(f"e_{f}", t) for f, t in _EVENT_TYPES.items())
    created = "r.created" if rows != "ins" else "r.id IS NOT NULL"
    returned = ", ".join(f"r.{c.name}" for c in RETURNED)
    # Identifiers come from the table metadata and module constants; values are bind parameters.
    return f"""
WITH {guard}, ins AS (
    INSERT INTO {SCHEMA}.payment ({names}, institution_id)
    SELECT {casts}, (SELECT l.institution_id FROM {SCHEMA}.loan l
                     WHERE l.account_number = CAST(:account_number AS VARCHAR))
    WHERE {may_insert}
    ON CONFLICT (channel, provider_reference) DO NOTHING
    RETURNING *
){after_insert}, hist AS (
    INSERT INTO {SCHEMA}.payment_history (payment_id, from_status, to_status, reason, actor)
    SELECT ins.id, NULL, ins.status, CAST(:h_reason AS TEXT), CAST(:created_by AS VARCHAR)
    FROM ins WHERE CAST(:with_history AS BOOLEAN)
), ob AS (
    INSERT INTO {SCHEMA}.outbox ({", ".join(EVENT_FIELDS)})
    SELECT {event_casts} FROM ins WHERE CAST(:with_event AS BOOLEAN)
)
SELECT {claimed} AS claimed, {created} AS created, {returned}
FROM (SELECT 1) AS one LEFT JOIN {rows} AS r ON true
"""  # noqa: S608


def _statement(sql: str) -> TextualSelect:
    """JSONB parameters typed so SQLAlchemy serialises them as the Core path does."""
    jsonb = [c.name for c in INSERTED if isinstance(c.type, JSONB)] + ["e_headers"]
    params = (bindparam(n, type_=JSONB(none_as_null=True)) for n in jsonb)
    flags = (column("claimed", Boolean), column("created", Boolean))
    return text(sql).bindparams(*params).columns(*flags, *RETURNED)


INTAKE = _statement(_sql(_CLAIM_FIRST, _CLAIMED_FIRST, _CLAIMED_FIRST))
ALLOCATED_INTAKE = _statement(_sql(_CLAIM_FIRST, _CLAIMED_FIRST, _CLAIMED_FIRST, after_insert=_APPLY))
STANDALONE_INTAKE = _statement(
    _sql(_SEEN, _NOT_SEEN, _STANDALONE_CLAIMED, after_insert=_KNOWN, rows=_STANDALONE_ROWS)
)
NO_EVENT: dict[str, Any] = {f"e_{f}": None for f in EVENT_FIELDS}
# What a driver intake that wrote nothing answers: the caller runs the transactional path.
NOT_WRITTEN: dict[str, Any] = {"claimed": True, "created": False, "id": None}


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement as asyncpg runs it: SQL with $n placeholders, parameter order, JSONB names."""

    sql: str
    names: tuple[str, ...]
    jsonb: frozenset[str]

    @classmethod
    def of(cls, statement: TextualSelect) -> DriverStatement:
        """Compiled once, for the driver."""
        compiled = statement.compile(dialect=PGDialect_asyncpg())  # type: ignore[no-untyped-call]
        jsonb = frozenset(n for n, p in compiled.binds.items() if isinstance(p.type, JSONB))
        return cls(str(compiled), tuple(compiled.positiontup or ()), jsonb)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """Positional arguments; JSONB values serialised as SQLAlchemy's codec on the connection
        expects."""
        return [
            json.dumps(params[n]) if n in self.jsonb and params[n] is not None else params[n]
            for n in self.names
        ]


_STANDALONE = DriverStatement.of(STANDALONE_INTAKE)
_ALLOCATED = DriverStatement.of(ALLOCATED_INTAKE)


class IntakeRow:
    """A driver record read by attribute, like the SQLAlchemy rows of the other paths."""

    __slots__ = ("_record",)

    def __init__(self, record: Mapping[str, Any]) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> dict[str, Any]:
        """The columns as a dict (as ``Row._mapping``: pydantic validates it ~3x faster)."""
        return dict(self._record)


def _params(
    values: Mapping[str, Any],
    delivery: tuple[str, str] | None,
    history_reason: str | None,
    with_history: bool,
    outbox_row: Mapping[str, Any] | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {c.name: values.get(c.name) for c in INSERTED}
    params.update(
        d_channel=delivery[0] if delivery else None,
        d_id=delivery[1] if delivery else None,
        h_reason=history_reason,
        with_history=with_history,
        with_event=outbox_row is not None,
    )
    params.update({f"e_{k}": v for k, v in outbox_row.items()} if outbox_row else NO_EVENT)
    return params


async def insert_standalone(
    engine: AsyncEngine,
    values: Mapping[str, Any],
    *,
    delivery: tuple[str, str],
    outcome: str,
    compare_type: str | None,
    history_reason: str | None,
    outbox_row: Mapping[str, Any] | None,
) -> IntakeRow:
    """Payment + delivery + history + outbox as ONE autocommit statement (one round trip).

    A single statement is atomic on its own: everything or nothing is committed. ``claimed`` is
    False for a replayed delivery (nothing written). Otherwise ``created`` and the payment's
    columns: the new one, or the known one a retry leaves unchanged (only the delivery written);
    NULL columns when neither applies (nothing written: use the transactional path). A database
    error is the driver's (asyncpg) exception.
    """
    params = {
        **_params(values, delivery, history_reason, True, outbox_row),
        "outcome": outcome,
        "compare_type": compare_type,  # the type the retry states, else NULL (not compared)
    }
    async with driver_connection(engine) as driver:
        record = await driver.fetchrow(_STANDALONE.sql, *_STANDALONE.args(params))
    return IntakeRow(record)


@dataclass(frozen=True, slots=True)
class Allocated:
    """A new repayment as allocated to the locked loan: every column, the allocation, its
    history reason and its (final) outbox event."""

    values: Mapping[str, Any]
    allocation: Allocation
    history_reason: str | None
    outbox_row: Mapping[str, Any] | None


async def insert_allocated(
    engine: AsyncEngine,
    account_number: str,
    allocate: Callable[[LoanDues | None], Allocated],
    *,
    delivery: tuple[str, str],
) -> IntakeRow:
    """A new loan repayment in one transaction of four round trips on the driver: BEGIN, lock
    the loan and read its dues, then (``allocate``, in Python, the lock held) claim + payment +
    allocation lines + loan balances + history + outbox in one statement, COMMIT.

    Committed only when the payment was inserted. A replayed delivery (``claimed`` False) or a
    known provider reference (NULL columns) is rolled back, nothing written: the caller answers
    the replay, or runs the transactional path for the duplicate. So is a deadlock: this path
    locks the loan before it inserts the payment, the transactional one after, so the same new
    provider reference on the same loan by both at once (an operator entering the webhook's
    payment by hand as it arrives) can deadlock; the transactional path then finds it.
    """
    async with driver_connection(engine) as driver:
        tx = driver.transaction()
        await tx.start()
        try:
            loan = await driver.fetchrow(LOCK_LOAN, account_number)
            plan = allocate(loan_dues(loan) if loan is not None else None)
            record = await driver.fetchrow(
                _ALLOCATED.sql, *_ALLOCATED.args(_allocated_params(plan, delivery))
            )
        except asyncpg.DeadlockDetectedError:
            await tx.rollback()
            return IntakeRow(NOT_WRITTEN)
        except Exception:
            await tx.rollback()
            raise
        if record["id"] is None:
            await tx.rollback()
        else:
            await tx.commit()
    return IntakeRow(record)


def _allocated_params(plan: Allocated, delivery: tuple[str, str]) -> dict[str, Any]:
    parts = plan.allocation.parts()
    params = _params(plan.values, delivery, plan.history_reason, True, plan.outbox_row)
    params.update(
        a_components=[c.value for c in parts],
        a_amounts=list(parts.values()),
        a_penalties=plan.allocation.penalties,
        a_interest=plan.allocation.interest,
        a_principal=plan.allocation.principal,
        a_debit=bool(parts),
    )
    return params


async def insert_new(
    session: AsyncSession,
    values: Mapping[str, Any],
    *,
    delivery: tuple[str, str] | None,
    history_reason: str | None,
    with_history: bool,
    outbox_row: Mapping[str, Any] | None,
) -> PaymentRow:
    """Claim + insert + history + outbox in one round trip; ``claimed`` and the new row's columns."""
    params = _params(values, delivery, history_reason, with_history, outbox_row)
    return (await session.execute(INTAKE, params)).one()
