"""The pytest plugin: tests reaching a real server are marked integration, unit runs start none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

UNIT_ONLY = "not integration and not e2e"  # what `make test-unit` selects


def _pytest(folder: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run pytest with our plugin on one test file written to ``folder`` (no project config)."""
    (folder / "test_inner.py").write_text(source)
    (folder / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "caisse_shared.testing.plugin",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_tests_reaching_a_server_through_fixtures_are_deselected_from_unit_runs(tmp_path: Path) -> None:
    source = (
        "import pytest\n"
        "@pytest.fixture\n"
        "def database(pg): return pg\n"
        "def test_pg(pg): pass\n"
        "def test_broker(kafka_bootstrap): pass\n"
        "def test_through_a_fixture(database): pass\n"
        "def test_plain(): pass\n"
    )
    done = _pytest(tmp_path, source, "--collect-only", "-q", "-m", UNIT_ONLY)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = [line for line in done.stdout.splitlines() if "::" in line]
    assert listed == ["test_inner.py::test_plain"]
    assert "1/4 tests collected (3 deselected)" in done.stdout


@pytest.mark.parametrize(("fixture", "server"), [("pg", "PostgreSQL"), ("broker", "the broker")])
def test_a_server_reached_another_way_fails_the_unmarked_test(
    tmp_path: Path, fixture: str, server: str
) -> None:
    source = f"def test_sneaky(request):\n    request.getfixturevalue({fixture!r})\n"
    done = _pytest(tmp_path, source, "-q", "-p", "no:randomly", "-m", UNIT_ONLY)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"test_inner.py::test_sneaky starts {server} but is not marked integration" in done.stdout


def test_the_random_order_seed_is_printed_even_when_quiet(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "def test_plain(): pass\n", "-q", "-p", "randomly", "--randomly-seed=4242")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "random order seed 4242: replay with --randomly-seed=4242" in done.stdout
