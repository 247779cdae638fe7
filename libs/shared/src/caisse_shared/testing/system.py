"""System programs some tests need (slapd, ...): skipped where missing, a failure in CI."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

import pytest


def in_ci() -> bool:
    """True when the environment says this is a CI run (CI=true, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_system_binary(name: str, *, paths: Sequence[str] = (), install: str = "") -> str:
    """Path of the program ``name`` (PATH, then ``paths``); skip the test if missing, fail under CI.

    CI installs every system dependency (``make system-deps``), so a missing one there means the
    install step broke: the tests that need it must fail loudly, not vanish as skips.
    """
    found = shutil.which(name) or next((p for p in paths if os.access(p, os.X_OK)), None)
    if found:
        return found
    reason = f"{name} is not installed" + (f" ({install})" if install else "")
    if in_ci():
        pytest.fail(f"{reason}; CI=true: a missing system dependency fails the run", pytrace=False)
    pytest.skip(reason)
