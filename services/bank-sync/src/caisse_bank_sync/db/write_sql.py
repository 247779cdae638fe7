# ruff: noqa: S608  -- SQL identifiers come from the entity specs only; values are bound.
"""SQL text of the sync's writes and checks: first-load insert, upsert, refreshed hashes, stale
marking, delinquency changes and referential integrity (staging and validation: ``bulk_sql``).

Identifiers come only from the entity specs (never from input), so string building is safe.
"""

from __future__ import annotations

import uuid

from caisse_bank_sync.config import SCHEMA
from caisse_bank_sync.db.bulk_sql import key_text, norm, raw_table, typed_table
from caisse_bank_sync.domain.entities import EntitySpec


def refresh_hashes(spec: EntitySpec, part: int) -> str:
    """Store the new hash of rows whose text changed but whose values did not (no event)."""
    match = " AND ".join(f"t.{k} = s.{k}" for k in spec.key)
    return f"""
UPDATE {SCHEMA}.{spec.name} t SET row_hash = s.row_hash FROM {typed_table(spec, part)} s
WHERE {match} AND s.reason IS NULL AND t.row_hash IS DISTINCT FROM s.row_hash"""


def upsert(spec: EntitySpec, part: int, returning: tuple[str, ...] = ()) -> str:
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
INSERT INTO {SCHEMA}.{spec.name} AS t ({col_list}, source_system, last_sync_job_id, row_hash)
SELECT {", ".join(f"s.{c}" for c in cols)}, $1::varchar, $2, s.row_hash FROM {typed_table(spec, part)} s
LEFT JOIN {SCHEMA}.{spec.name} c ON {match}
WHERE s.reason IS NULL AND (c.{spec.key[0]} IS NULL
   OR ({cur}, c.source_system, c.is_stale) IS DISTINCT FROM ({stg}, $1::varchar, false))
ON CONFLICT ({", ".join(spec.key)}) DO UPDATE SET {sets},
    source_system = EXCLUDED.source_system, last_sync_job_id = EXCLUDED.last_sync_job_id,
    row_hash = EXCLUDED.row_hash, is_stale = false, stale_since = NULL, updated_at = now()
WHERE ({old}, t.source_system, t.is_stale) IS DISTINCT FROM ({new}, EXCLUDED.source_system, false)
RETURNING (t.xmax = 0) AS created, {ret}"""


def insert_new(spec: EntitySpec, part: int, returning: tuple[str, ...] | None = ()) -> str:
    """Plain INSERT of the valid staged rows, for a target that is known empty: no conflict
    arbitration, no anti-join. Extract order is kept: sorting a million wide rows by key
    (an external sort) measured 2.2 s, more than the primary key saves on ordered input.

    ``returning`` None: no RETURNING (the keys are the part's ``valid_keys``, read by staging).
    Parameters: $1 source system, $2 job id.
    """
    cols = ", ".join(spec.field_names)
    sql = f"""
INSERT INTO {SCHEMA}.{spec.name} ({cols}, source_system, last_sync_job_id, row_hash)
SELECT {cols}, $1::varchar, $2, row_hash FROM {typed_table(spec, part)} WHERE reason IS NULL"""
    if returning is None:
        return sql
    return f"{sql}\nRETURNING true AS created, {', '.join((*spec.key, *returning))}"


def analyze_joined(spec: EntitySpec) -> str:
    """ANALYZE of the columns the integrity check and the next sync join or filter on: an
    empty table's statistics would mislead those plans (autovacuum later does the rest, and
    half the columns cost half the time)."""
    refs = [f for r in spec.references for f in r.fields]
    cols = dict.fromkeys((*spec.key, *refs, "source_system", "is_stale", "last_sync_job_id"))
    return f"ANALYZE {SCHEMA}.{spec.name} ({', '.join(cols)})"


def key_arrays(spec: EntitySpec, dml: str) -> str:
    """A write ``RETURNING [created,] keys`` folded into two key arrays: (created, updated), or
    (all, empty) when the write has no ``created`` flag (stale marking)."""
    key = key_text(spec)
    flagged = "AS created" in dml
    first = f"array_agg({key}) FILTER (WHERE created)" if flagged else f"array_agg({key})"
    second = f"array_agg({key}) FILTER (WHERE NOT created)" if flagged else "NULL::text[]"
    return (
        f"WITH w AS ({dml}) SELECT coalesce({first}, '{{}}') AS first,"
        f" coalesce({second}, '{{}}') AS second FROM w"
    )


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


def delinquency_changes(part: int, target: str) -> str:
    """Staged loans whose bucket differs from the stored one (new delinquent loans included).

    ``target``: the loan table, or its empty stand-in. Parameter: $1 thresholds (int[]).
    """
    return f"""
SELECT s.account_number, s.cif, s.currency, s.days_past_due, s.overdue_amount,
       coalesce(s.outstanding_principal, 0)::numeric + coalesce(s.outstanding_interest, 0)
         + coalesce(s.outstanding_penalties, 0) AS outstanding_amount,
       s.institution_id, s.agency_id, l.days_past_due AS previous_dpd,
       (l.account_number IS NULL) AS is_new
FROM stg_loan_{int(part)} s LEFT JOIN {target} l ON l.account_number = s.account_number
WHERE s.reason IS NULL AND width_bucket(coalesce(s.days_past_due, 0), $1::int[])
      <> CASE WHEN l.account_number IS NULL THEN 0
              ELSE width_bucket(coalesce(l.days_past_due, 0), $1::int[]) END"""


def dangling_references(
    spec: EntitySpec, job_id: uuid.UUID, parts: int | None = None
) -> list[tuple[str, str]]:
    """(SQL, target) per soft reference: rows of this entity pointing at a missing target.

    Only rows written by job ``job_id`` are checked: found by a scan on the job id (``parts``
    None: a first load wrote every row), or by joining the ``parts`` typed tables' valid rows
    (a reload: the rows it wrote are among them, usually a small share of the table). The id
    is inlined (a UUID of ours): the query is run by CREATE TABLE AS, which takes no parameters.
    """
    if parts is None:
        rows = f"{SCHEMA}.{spec.name} t"
    else:
        match = " AND ".join(f"t.{k} = s.{k}" for k in spec.key)
        keys = ", ".join(spec.key)
        typed = " UNION ALL ".join(
            f"SELECT {keys} FROM {typed_table(spec, p)} WHERE reason IS NULL" for p in range(parts)
        )
        rows = f"({typed}) s JOIN {SCHEMA}.{spec.name} t ON {match}"
    out = []
    for ref in spec.references:
        present = " AND ".join(f"t.{a} IS NOT NULL" for a in ref.fields)
        match = " AND ".join(f"p.{b} = t.{a}" for a, b in zip(ref.fields, ref.target_fields, strict=True))
        key = " || ':' || ".join(f"t.{k}" for k in spec.key)
        refkey = " || ':' || ".join(f"t.{a}" for a in ref.fields)
        out.append(
            (
                f"""
SELECT {key} AS nk, {refkey} AS ref FROM {rows}
WHERE t.last_sync_job_id = '{job_id}'::uuid AND NOT t.is_stale AND {present}
  AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.{ref.target} p WHERE {match})""",
                ref.target,
            )
        )
    return out
