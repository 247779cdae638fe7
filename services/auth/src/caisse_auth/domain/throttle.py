"""Login throttling rules: lockout per username, rate limit per client address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failures lock a username, and how many attempts an address may make."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    ip_max_attempts: int = 60
    ip_window: timedelta = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Counter:
    """A throttle counter as stored: count within the window that started at ``window_start``."""

    count: int
    window_start: datetime
    locked_until: datetime | None = None


def locked(counter: Counter | None, now: datetime) -> datetime | None:
    """The end of the lock in force, if any."""
    if counter is None or counter.locked_until is None:
        return None
    return counter.locked_until if counter.locked_until > now else None


def after_failure(counter: Counter | None, now: datetime, policy: ThrottlePolicy) -> Counter:
    """Username counter after one more failure: locks once ``max_failures`` is reached."""
    expired = counter is None or now - counter.window_start > policy.lockout
    count = 1 if expired or counter is None else counter.count + 1
    start = now if expired or counter is None else counter.window_start
    until = now + policy.lockout if count >= policy.max_failures else None
    return Counter(count=count, window_start=start, locked_until=until)


def after_attempt(counter: Counter | None, now: datetime, policy: ThrottlePolicy) -> Counter:
    """Address counter after one more attempt (fixed window)."""
    if counter is None or now - counter.window_start >= policy.ip_window:
        return Counter(count=1, window_start=now)
    return Counter(count=counter.count + 1, window_start=counter.window_start)


def over_limit(counter: Counter, policy: ThrottlePolicy) -> bool:
    """True if the address exceeded its attempts in the current window."""
    return counter.count > policy.ip_max_attempts


def retry_after(counter: Counter, now: datetime, policy: ThrottlePolicy) -> int:
    """Seconds until the address window resets (for the Retry-After header)."""
    end = counter.window_start + policy.ip_window
    return max(1, int((end - now).total_seconds()) + 1)
