"""Event names, topics and payload builders of bank-sync (pure Python, Avro-shaped dicts)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from caisse_bank_sync.domain.delinquency import Buckets

ENTITY_UPDATED = ("banksync.EntityUpdated", "banksync.entity.updated")
SYNC_COMPLETED = ("banksync.SyncCompleted", "banksync.sync.completed")
SYNC_FAILED = ("banksync.SyncFailed", "banksync.sync.failed")
LOAN_UPDATED = ("banksync.LoanUpdated", "banksync.loan.updated")
DELINQUENCY_CHANGED = ("banksync.LoanDelinquencyChanged", "banksync.loan.delinquency_changed")

LOAN_SNAPSHOT_FIELDS = (
    "cif",
    "product_code",
    "currency",
    "status",
    "original_amount",
    "outstanding_principal",
    "outstanding_interest",
    "outstanding_penalties",
    "overdue_amount",
    "days_past_due",
    "next_payment_date",
    "institution_id",
    "agency_id",
    "is_stale",
    "source_system",
)


def batched(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """Consecutive slices of at most ``size`` items."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def entity_updated_payloads(
    *,
    job_id: str,
    entity_type: str,
    source: str,
    created: Sequence[str],
    updated: Sequence[str],
    stale: Sequence[str],
    batch_size: int,
) -> list[dict[str, Any]]:
    """ENTITY_UPDATED payloads: natural keys of created, updated, then stale records, batched."""
    keys = [*created, *updated, *stale]
    created_end, updated_end = len(created), len(created) + len(updated)
    out = []
    for i in range(0, len(keys), batch_size):
        end = min(i + batch_size, len(keys))
        # Counts by overlap of [i, end) with the created, updated and stale ranges of ``keys``.
        c = max(0, min(end, created_end) - i)
        u = max(0, min(end, updated_end) - max(i, created_end))
        out.append(
            {
                "sync_job_id": job_id,
                "entity_type": entity_type,
                "source_system": source,
                "affected_records": keys[i:end],
                "created_count": c,
                "updated_count": u,
                "stale_count": end - i - c - u,
            }
        )
    return out


def loan_snapshot(account_number: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """LoanUpdated payload from a loan row (absent amounts count as zero)."""
    return {
        "account_number": account_number,
        "cif": row["cif"],
        "source_system": row["source_system"],
        "product_code": row["product_code"],
        "currency": row["currency"],
        "status": row["status"],
        "original_amount": row["original_amount"],
        "outstanding_principal": row["outstanding_principal"],
        "outstanding_interest": row["outstanding_interest"] or 0,
        "outstanding_penalties": row["outstanding_penalties"] or 0,
        "overdue_amount": row["overdue_amount"] or 0,
        "days_past_due": row["days_past_due"] or 0,
        "next_payment_date": row["next_payment_date"],
        "institution_id": row["institution_id"],
        "agency_id": row["agency_id"],
        "is_stale": bool(row["is_stale"]),
    }


def delinquency_payload(row: Mapping[str, Any], source: str, buckets: Buckets) -> dict[str, Any]:
    """LoanDelinquencyChanged payload from a staged loan and its previous days past due."""
    return {
        "account_number": row["account_number"],
        "cif": row["cif"],
        "source_system": source,
        "currency": row["currency"],
        "previous_bucket": None if row["is_new"] else buckets.label(row["previous_dpd"]),
        "current_bucket": buckets.label(row["days_past_due"]),
        "days_past_due": row["days_past_due"] or 0,
        "previous_days_past_due": None if row["is_new"] else (row["previous_dpd"] or 0),
        "overdue_amount": row["overdue_amount"] or 0,
        "outstanding_amount": int(row["outstanding_amount"]),
        "institution_id": row["institution_id"],
        "agency_id": row["agency_id"],
    }
