"""Days-past-due buckets (the names bank-sync uses: CURRENT, 1-30, 31-60, 61-90, 90+)."""

from __future__ import annotations

BUCKETS: tuple[str, ...] = ("CURRENT", "1-30", "31-60", "61-90", "90+")


def bucket_for(days_past_due: int) -> str:
    """The bucket a number of days past due falls in."""
    if days_past_due <= 0:
        return "CURRENT"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"
