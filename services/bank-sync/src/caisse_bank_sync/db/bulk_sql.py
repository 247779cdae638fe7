# ruff: noqa: S608  -- SQL identifiers come from the entity specs only; values are bound.
"""SQL text for the bulk path: raw staging, set-based validation, typed staging, upsert, stale.

Identifiers come only from the entity specs (never from input), so string building is safe.
"""

from __future__ import annotations

from caisse_bank_sync.config import SCHEMA
from caisse_bank_sync.domain.entities import CURRENCY_EXPONENTS, EntitySpec, Field, Kind

BIGINT_MAX = 9223372036854775807


def raw_table(spec: EntitySpec) -> str:
    """Temp table receiving the extract's text values (COPY target)."""
    return f"stg_raw_{spec.name}"


def typed_table(spec: EntitySpec) -> str:
    """Temp table holding validated, typed rows."""
    return f"stg_{spec.name}"


def create_raw(spec: EntitySpec) -> str:
    """DDL of the raw staging table: line number plus one text column per canonical field."""
    cols = ", ".join(f"{f} text" for f in spec.field_names)
    return f"CREATE TEMP TABLE {raw_table(spec)} (line int, {cols}) ON COMMIT DROP"


def create_typed(spec: EntitySpec) -> str:
    """DDL of the typed staging table (same column types as the entity table)."""
    cols = ", ".join(spec.field_names)
    return (f"CREATE TEMP TABLE {typed_table(spec)} ON COMMIT DROP AS "
            f"SELECT 0::int AS line, {cols} FROM {SCHEMA}.{spec.name} WITH NO DATA")


def norm(f: Field, alias: str = "r") -> str:
    """Normalised text of a raw value: trimmed, empty as NULL, codes upper-cased."""
    expr = f"nullif(btrim({alias}.{f.name}), '')"
    return f"upper({expr})" if f.kind is Kind.CODE else expr


def _field_checks(spec: EntitySpec, f: Field) -> list[tuple[str, str]]:
    """(condition, reason) pairs for one normalised field, in evaluation order."""
    v = f.name
    checks: list[tuple[str, str]] = []
    if f.required or f.name in spec.key:
        label = "key" if f.name in spec.key else "required field"
        checks.append((f"{v} IS NULL", f"missing {label} {f.name}"))
    if f.kind in (Kind.TEXT, Kind.CODE):
        limit = 32 if f.kind is Kind.CODE else f.max_len
        checks.append((f"length({v}) > {limit}", f"{f.name} longer than {limit} characters"))
    elif f.kind is Kind.INT:
        checks.append((f"NOT pg_input_is_valid({v}, 'integer')", f"{f.name} is not an integer"))
        checks.append((f"left({v}, 1) = '-'", f"{f.name} is negative"))
    elif f.kind is Kind.DATE:
        checks.append((f"NOT pg_input_is_valid({v}, 'date')", f"{f.name} is not a date"))
    elif f.kind is Kind.BOOL:
        checks.append((f"NOT pg_input_is_valid({v}, 'boolean')", f"{f.name} is not a boolean"))
    elif f.kind is Kind.MONEY:
        m = f"{v}__minor"
        checks.append((f"{v} IS NOT NULL AND ({m} IS NULL OR left({v}, 1) NOT BETWEEN '0' AND '9')",
                       f"{f.name} is not a non-negative decimal amount"))
        checks.append((f"{m} <> trunc({m})", f"{f.name} has more decimals than the currency allows"))
        checks.append((f"{m} > {BIGINT_MAX}", f"{f.name} overflows"))
    return checks


def reason_expr(spec: EntitySpec) -> str:
    """CASE giving the first validation failure of a normalised row, NULL when it is valid."""
    keys = ", ".join(spec.key)
    whens = [(f"{k} IS NULL", f"missing key {k}") for k in spec.key]
    whens.append((f"count(*) OVER (PARTITION BY {keys}) > 1", "duplicate key in extract"))
    if spec.currency_field:
        whens.append((f"{spec.currency_field} IS NOT NULL AND factor IS NULL", "unknown currency"))
    for f in spec.fields:
        whens.extend(_field_checks(spec, f))
    body = " ".join(f"WHEN {cond} THEN '{reason}'" for cond, reason in whens)
    return f"CASE {body} END"


def currency_join(spec: EntitySpec) -> str:
    """LEFT JOIN giving ``ccy.factor`` (10^exponent) for the row's currency."""
    if not spec.currency_field:
        return ""
    values = ", ".join(f"('{c}', {10 ** e}::numeric)" for c, e in CURRENCY_EXPONENTS.items())
    cur = norm(next(f for f in spec.fields if f.name == spec.currency_field))
    return f" LEFT JOIN (VALUES {values}) AS ccy(code, factor) ON ccy.code = {cur}"


def cast_expr(f: Field) -> str:
    """Typed value of a validated, normalised field."""
    v = f.name
    casts = {Kind.TEXT: v, Kind.CODE: v, Kind.INT: f"{v}::integer", Kind.DATE: f"{v}::date",
             Kind.BOOL: f"{v}::boolean", Kind.MONEY: f"{v}__minor::bigint"}
    return casts[f.kind]


def _normalised(spec: EntitySpec) -> str:
    """Rows with every field trimmed once, plus minor units of money fields (OFFSET 0 fences
    keep PostgreSQL from inlining, so each expression is computed once per row)."""
    norms = ", ".join(f"{norm(f)} AS {f.name}" for f in spec.fields)
    factor = "ccy.factor" if spec.currency_field else "NULL::numeric"
    minors = "".join(
        f", CASE WHEN pg_input_is_valid(m.{f.name}, 'numeric') THEN m.{f.name}::numeric"
        f" * m.factor END AS {f.name}__minor" for f in spec.fields if f.kind is Kind.MONEY)
    return (f"SELECT m.*{minors} FROM (SELECT r.line, {norms}, {factor} AS factor "
            f"FROM {raw_table(spec)} r{currency_join(spec)} OFFSET 0) m OFFSET 0")


def validate_and_type(spec: EntitySpec) -> str:
    """Quarantine invalid raw rows into sync_error and copy valid ones, typed, into staging.

    Parameters: $1 job id, $2 source system, $3 file name.
    """
    key_text = " || ':' || ".join(f"coalesce({k}, '')" for k in spec.key)
    casts = ", ".join(cast_expr(f) for f in spec.fields)
    raw_cols = ", ".join(spec.field_names)
    return f"""
WITH chk AS MATERIALIZED (
    SELECT n.*, {reason_expr(spec)} AS reason, {key_text} AS nk FROM ({_normalised(spec)}) n
), bad AS (
    INSERT INTO {SCHEMA}.sync_error (job_id, source_system, entity_type, kind, file, line,
                                     natural_key, reason, raw)
    SELECT $1, $2, '{spec.name}', 'VALIDATION', $3, line, nk, reason,
           left(concat_ws('|', {raw_cols}), 300)
    FROM chk WHERE reason IS NOT NULL
)
INSERT INTO {typed_table(spec)} (line, {raw_cols})
SELECT line, {casts}
FROM chk WHERE reason IS NULL"""


def upsert(spec: EntitySpec, returning: tuple[str, ...] = ()) -> str:
    """INSERT … ON CONFLICT … DO UPDATE … WHERE IS DISTINCT FROM; returns created flag and keys.

    Parameters: $1 source system, $2 job id.
    """
    cols = spec.field_names
    vals = [f.name for f in spec.value_fields]
    col_list = ", ".join(cols)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in vals)
    old = ", ".join(f"t.{c}" for c in vals)
    new = ", ".join(f"EXCLUDED.{c}" for c in vals)
    ret = ", ".join(f"t.{c}" for c in (*spec.key, *returning))
    match = " AND ".join(f"c.{k} = s.{k}" for k in spec.key)
    cur = ", ".join(f"c.{c}" for c in vals)
    stg = ", ".join(f"s.{c}" for c in vals)
    # The anti-join drops unchanged rows before the INSERT: ON CONFLICT … WHERE false would
    # still lock (and so write) every existing row; the WHERE stays as the race guard.
    return f"""
INSERT INTO {SCHEMA}.{spec.name} AS t ({col_list}, source_system, last_sync_job_id)
SELECT {", ".join(f"s.{c}" for c in cols)}, $1::varchar, $2 FROM {typed_table(spec)} s
LEFT JOIN {SCHEMA}.{spec.name} c ON {match}
WHERE c.{spec.key[0]} IS NULL
   OR ({cur}, c.source_system, c.is_stale) IS DISTINCT FROM ({stg}, $1::varchar, false)
ON CONFLICT ({", ".join(spec.key)}) DO UPDATE SET {sets},
    source_system = EXCLUDED.source_system, last_sync_job_id = EXCLUDED.last_sync_job_id,
    is_stale = false, stale_since = NULL, updated_at = now()
WHERE ({old}, t.source_system, t.is_stale) IS DISTINCT FROM ({new}, EXCLUDED.source_system, false)
RETURNING (t.xmax = 0) AS created, {ret}"""


def mark_stale(spec: EntitySpec, returning: tuple[str, ...] = ()) -> str:
    """Flag this source's records absent from the extract (any raw row, even invalid, counts).

    Parameters: $1 source system, $2 job id.
    """
    by_name = {f.name: f for f in spec.fields}
    match = " AND ".join(f"{norm(by_name[k])} = t.{k}" for k in spec.key)
    ret = ", ".join(f"t.{c}" for c in (*spec.key, *returning))
    return f"""
UPDATE {SCHEMA}.{spec.name} AS t
SET is_stale = true, stale_since = now(), updated_at = now(), last_sync_job_id = $2
WHERE t.source_system = $1 AND NOT t.is_stale
  AND NOT EXISTS (SELECT 1 FROM {raw_table(spec)} r WHERE {match})
RETURNING {ret}"""


def delinquency_changes() -> str:
    """Staged loans whose bucket differs from the stored one (new delinquent loans included).

    Parameter: $1 thresholds (int[]).
    """
    return f"""
SELECT s.account_number, s.cif, s.currency, s.days_past_due, s.overdue_amount,
       coalesce(s.outstanding_principal, 0)::numeric + coalesce(s.outstanding_interest, 0)
         + coalesce(s.outstanding_penalties, 0) AS outstanding_amount,
       s.institution_id, s.agency_id, l.days_past_due AS previous_dpd,
       (l.account_number IS NULL) AS is_new
FROM stg_loan s LEFT JOIN {SCHEMA}.loan l ON l.account_number = s.account_number
WHERE width_bucket(coalesce(s.days_past_due, 0), $1::int[])
      <> CASE WHEN l.account_number IS NULL THEN 0
              ELSE width_bucket(coalesce(l.days_past_due, 0), $1::int[]) END"""


def dangling_references(spec: EntitySpec) -> list[tuple[str, str]]:
    """(SQL, target) per soft reference: rows of this entity pointing at a missing target.

    Parameter: $1 job id (only rows touched by this job are checked).
    """
    out = []
    for ref in spec.references:
        present = " AND ".join(f"t.{a} IS NOT NULL" for a in ref.fields)
        match = " AND ".join(f"p.{b} = t.{a}" for a, b in zip(ref.fields, ref.target_fields,
                                                               strict=True))
        key = " || ':' || ".join(f"t.{k}" for k in spec.key)
        refkey = " || ':' || ".join(f"t.{a}" for a in ref.fields)
        out.append((f"""
SELECT {key} AS nk, {refkey} AS ref FROM {SCHEMA}.{spec.name} t
WHERE t.last_sync_job_id = $1 AND NOT t.is_stale AND {present}
  AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.{ref.target} p WHERE {match})""", ref.target))
    return out
