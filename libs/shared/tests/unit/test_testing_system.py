"""require_system_binary: a missing program skips its tests locally and fails them under CI=true."""

from __future__ import annotations

import sys

import pytest
from caisse_shared.testing.system import require_system_binary

MISSING = "caisse-no-such-program"


def test_a_program_found_on_a_listed_path_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert require_system_binary("python", paths=("/nonexistent/python", sys.executable)) == sys.executable


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_a_missing_program_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=f"{MISSING} is not installed \\(apt-get install x\\)"):
        require_system_binary(MISSING, paths=("/nonexistent/x",), install="apt-get install x")


@pytest.mark.parametrize("ci", ["true", "TRUE", "1"])
def test_a_missing_program_fails_the_run_under_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="CI=true: a missing system dependency fails the run"):
        require_system_binary(MISSING)
