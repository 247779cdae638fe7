"""Delinquency buckets from days past due (configurable lower bounds)."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

CURRENT = "CURRENT"
DEFAULT_THRESHOLDS: tuple[int, ...] = (1, 31, 61, 91)


@dataclass(frozen=True, slots=True)
class Buckets:
    """Ordered lower bounds: (1, 31, 61, 91) gives CURRENT, 1-30, 31-60, 61-90, 90+."""

    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS

    def __post_init__(self) -> None:
        t = self.thresholds
        if not t or t[0] < 1 or any(b <= a for a, b in itertools.pairwise(t)):
            raise ValueError("thresholds must be strictly increasing and start at >= 1")

    @classmethod
    def of(cls, thresholds: Sequence[int]) -> Buckets:
        """Build from any sequence of lower bounds."""
        return cls(tuple(int(x) for x in thresholds))

    @property
    def labels(self) -> tuple[str, ...]:
        """Bucket labels by index (0 is CURRENT)."""
        return _labels(self.thresholds)

    def index(self, days_past_due: int | None) -> int:
        """Bucket index (same as PostgreSQL ``width_bucket(dpd, thresholds)``)."""
        dpd = days_past_due or 0
        return sum(1 for low in self.thresholds if dpd >= low)

    def label(self, days_past_due: int | None) -> str:
        """Bucket label of a days-past-due value."""
        return self.labels[self.index(days_past_due)]

    def crossed(self, previous_dpd: int | None, current_dpd: int | None, *, new: bool) -> bool:
        """True if the loan changed bucket (a new loan counts when it is already delinquent)."""
        if new:
            return self.index(current_dpd) > 0
        return self.index(previous_dpd) != self.index(current_dpd)


@functools.lru_cache(maxsize=32)
def _labels(t: tuple[int, ...]) -> tuple[str, ...]:
    """Labels of some thresholds (cached: asked twice per delinquency event)."""
    out = [CURRENT]
    for i, low in enumerate(t):
        out.append(f"{low}-{t[i + 1] - 1}" if i + 1 < len(t) else f"{low - 1}+")
    return tuple(out)
