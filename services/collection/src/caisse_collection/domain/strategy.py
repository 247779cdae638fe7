"""Strategy engine: rules by days-past-due, outstanding amount and history -> priority,
next action and reminder level (friendly / firm / final, as in the finance orchestrator)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from caisse_collection.domain.actions import ActionType


class ReminderLevel(StrEnum):
    """The three reminder levels of the finance orchestrator's reminder workflow."""

    FRIENDLY = "FRIENDLY"
    FIRM = "FIRM"
    FINAL = "FINAL"


_ESCALATION = {
    ReminderLevel.FRIENDLY: ReminderLevel.FIRM,
    ReminderLevel.FIRM: ReminderLevel.FINAL,
    ReminderLevel.FINAL: ReminderLevel.FINAL,
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A strategy rule: bounds (inclusive, None = open) and what to do when a case matches."""

    name: str
    priority: int
    next_action: ActionType
    reminder_level: ReminderLevel
    rank: int = 100
    min_dpd: int | None = None
    max_dpd: int | None = None
    min_outstanding: int | None = None
    max_outstanding: int | None = None
    min_broken_promises: int | None = None

    def matches(self, case: CaseFacts) -> bool:
        """True if every bound of the rule holds for the case."""
        checks = (
            (self.min_dpd, case.days_past_due, True),
            (self.max_dpd, case.days_past_due, False),
            (self.min_outstanding, case.outstanding, True),
            (self.max_outstanding, case.outstanding, False),
            (self.min_broken_promises, case.broken_promises, True),
        )
        for bound, value, is_min in checks:
            if bound is not None and (value < bound if is_min else value > bound):
                return False
        return True


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the strategy looks at."""

    days_past_due: int
    outstanding: int
    broken_promises: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """What the strategy decided for one case."""

    priority: int
    next_action: ActionType
    reminder_level: ReminderLevel
    rule: str


# Used when an institution has configured no rule of its own.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("90+ legal review", 90, ActionType.LEGAL_NOTICE, ReminderLevel.FINAL, 10, min_dpd=91),
    Rule("61-90 visit", 70, ActionType.VISIT, ReminderLevel.FINAL, 20, min_dpd=61, max_dpd=90),
    Rule("31-60 call", 50, ActionType.CALL, ReminderLevel.FIRM, 30, min_dpd=31, max_dpd=60),
    Rule("1-30 sms", 20, ActionType.SMS, ReminderLevel.FRIENDLY, 40, min_dpd=1, max_dpd=30),
    Rule("current", 5, ActionType.NOTE, ReminderLevel.FRIENDLY, 1000),
)


def decide(case: CaseFacts, rules: Sequence[Rule] = DEFAULT_RULES) -> Decision:
    """First matching rule by rank; broken promises escalate the reminder level and priority."""
    ordered = sorted(rules, key=lambda r: (r.rank, r.name)) if rules else list(DEFAULT_RULES)
    rule = next((r for r in ordered if r.matches(case)), None)
    if rule is None:
        rule = next(r for r in DEFAULT_RULES if r.matches(case))
    level = rule.reminder_level
    priority = rule.priority
    if case.broken_promises > 0:
        level = _ESCALATION[level]
        priority += 10 * min(case.broken_promises, 3)
    return Decision(
        priority=min(priority, 100), next_action=rule.next_action, reminder_level=level, rule=rule.name
    )
