"""Contract tests for ``schemas/avro``: validity, naming, round trip, and backward compatibility."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import pytest
from caisse_shared.events.compat import schema_problems
from caisse_shared.events.registry import SchemaRegistry, event_type_for, find_schemas_dir
from caisse_shared.events.schema_history import (
    check_contracts,
    compatibility_problems,
    contract_problems,
    naming_problems,
    previous_committed_schema,
    previous_committed_text,
    schema_files,
)
from caisse_shared.testing.system import require_system_binary

ROOT = find_schemas_dir()
SCHEMAS = schema_files(ROOT)
IDS = [p.relative_to(ROOT).as_posix() for p in SCHEMAS]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "avro_compat"
MAX_DEPTH = 4


# --- sample payloads ------------------------------------------------------------------------


def sample(schema: Any, named: dict[str, Any], depth: int = 0) -> Any:
    """A value of a fastavro-parsed ``schema``, in the form fastavro decodes it back to."""
    if isinstance(schema, list):
        return sample_union(schema, named, depth)
    if isinstance(schema, str):
        return named_or_primitive(schema, named, depth)
    kind = schema["type"]
    if "logicalType" in schema:
        value = sample_logical(schema)
        if value is not None:
            return value
    if kind in ("record", "error"):
        return {f["name"]: sample(f["type"], named, depth + 1) for f in schema["fields"]}
    if kind == "enum":
        return schema["symbols"][0]
    if kind == "fixed":
        return bytes(range(schema["size"]))
    if kind == "array":
        return [] if depth >= MAX_DEPTH else [sample(schema["items"], named, depth + 1)]
    if kind == "map":
        return {} if depth >= MAX_DEPTH else {"k": sample(schema["values"], named, depth + 1)}
    return sample(kind, named, depth)


def sample_union(branches: list[Any], named: dict[str, Any], depth: int) -> Any:
    """First non-null branch, or null when deep (keeps recursive types finite)."""
    non_null = [b for b in branches if b != "null"]
    if not non_null or (depth >= MAX_DEPTH and "null" in branches):
        return None
    return sample(non_null[0], named, depth)


PRIMITIVE_SAMPLES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "int": 7,
    "long": 1_700_000_000_000,
    "float": 1.5,
    "double": 2.25,
    "bytes": b"\x00\xff",
    "string": "sample",
}


def named_or_primitive(name: str, named: dict[str, Any], depth: int) -> Any:
    """A primitive sample, or a sample of the named type ``name``."""
    if name in PRIMITIVE_SAMPLES:
        return PRIMITIVE_SAMPLES[name]
    return sample(named[name], named, depth)


def sample_logical(schema: dict[str, Any]) -> Any:
    """A value for a logical type fastavro converts, or None to use the underlying type."""
    logical, kind = schema["logicalType"], schema["type"]
    utc = dt.UTC
    values: dict[tuple[str, str], Any] = {
        ("timestamp-millis", "long"): dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=utc),
        ("timestamp-micros", "long"): dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=utc),
        ("local-timestamp-millis", "long"): dt.datetime(2024, 5, 6, 7, 8, 9, 123000),
        ("local-timestamp-micros", "long"): dt.datetime(2024, 5, 6, 7, 8, 9, 123456),
        ("date", "int"): dt.date(2024, 5, 6),
        ("time-millis", "int"): dt.time(7, 8, 9, 123000),
        ("time-micros", "long"): dt.time(7, 8, 9, 123456),
        ("uuid", "string"): uuid.UUID("12345678-1234-5678-1234-567812345678"),
    }
    if logical == "decimal" and kind in ("bytes", "fixed"):
        return Decimal(1).scaleb(-int(schema.get("scale", 0)))
    return values.get((logical, kind))


def parsed(path: Path) -> tuple[Any, dict[str, Any]]:
    """(fastavro-parsed schema, its named types) of a schema file."""
    named: dict[str, Any] = {}
    schema = fastavro.parse_schema(json.loads(path.read_text(encoding="utf-8")), named_schemas=named)
    return schema, named


# --- the repository's schemas -------------------------------------------------------------


def test_schemas_folder_is_found() -> None:
    assert ROOT.is_dir()


@pytest.mark.parametrize("path", SCHEMAS, ids=IDS)
def test_schema_parses_with_fastavro(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema_problems(schema) == []
    fastavro.parse_schema(schema)


@pytest.mark.parametrize("path", SCHEMAS, ids=IDS)
def test_schema_follows_naming_rules(path: Path) -> None:
    assert naming_problems(path, ROOT) == []


@pytest.mark.parametrize("path", SCHEMAS, ids=IDS)
def test_sample_payload_round_trips_through_registry(path: Path, tmp_path: Path) -> None:
    event_type, version = event_type_for(path, ROOT)
    copy = tmp_path / path.relative_to(ROOT)  # a registry of this file only: others may be WIP
    copy.parent.mkdir(parents=True)
    shutil.copyfile(path, copy)
    registry = SchemaRegistry(tmp_path)
    schema, named = parsed(path)
    payload = sample(schema, named)
    data = registry.encode(event_type, version, payload)
    assert registry.decode(event_type, version, data) == payload


@pytest.mark.parametrize("path", SCHEMAS, ids=IDS)
def test_schema_is_backward_compatible_with_previous_commit(path: Path) -> None:
    assert compatibility_problems(path) == []


# --- the sample generator itself ----------------------------------------------------------------


def test_sample_generator_covers_every_type(tmp_path: Path) -> None:
    fields = [
        {"name": "b", "type": "boolean"},
        {"name": "f", "type": "float"},
        {"name": "raw", "type": "bytes"},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y"]}},
        {"name": "fx", "type": {"type": "fixed", "name": "F", "size": 4}},
        {"name": "m", "type": {"type": "map", "values": ["null", "E"]}},
        {"name": "d", "type": {"type": "int", "logicalType": "date"}},
        {"name": "t", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {
            "name": "amt",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
        },
        {"name": "next", "type": ["null", "Node"], "default": None},
    ]
    schema = {"type": "record", "name": "Node", "namespace": "caisse.test", "fields": fields}
    path = tmp_path / "test" / "Node.v1.avsc"
    path.parent.mkdir()
    path.write_text(json.dumps(schema), encoding="utf-8")
    registry = SchemaRegistry(tmp_path)
    payload = sample(*parsed(path))
    assert payload["next"]["next"] is not None  # recursion followed, then cut
    assert registry.decode("test.Node", 1, registry.encode("test.Node", 1, payload)) == payload


# --- naming rules ---------------------------------------------------------------------------------


def write(root: Path, rel: str, schema: Any) -> Path:
    """Write ``schema`` as JSON to ``root/rel``."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return path


def event(name: str, *fields: dict[str, Any]) -> dict[str, Any]:
    """A record schema named ``name``."""
    return {"type": "record", "name": name, "namespace": "caisse.pay", "fields": list(fields)}


@pytest.mark.parametrize(
    ("rel", "schema", "expected"),
    [
        ("pay/PaymentMade.v1.avsc", event("PaymentMade"), None),
        ("pay/PaymentMade.v1.avsc", event("caisse.pay.PaymentMade"), None),
        ("pay/sub/PaymentMade.v1.avsc", event("PaymentMade"), "one folder level"),
        ("PaymentMade.v1.avsc", event("PaymentMade"), "one folder level"),
        ("Pay/PaymentMade.v1.avsc", event("PaymentMade"), "domain must match"),
        ("pay/paymentMade.v1.avsc", event("paymentMade"), "file name must be"),
        ("pay/PaymentMade.avsc", event("PaymentMade"), "file name must be"),
        ("pay/PaymentMade.v0.avsc", event("PaymentMade"), "file name must be"),
        ("pay/PaymentMade.v1.avsc", event("PaymentDone"), "record name 'PaymentDone'"),
        ("pay/PaymentMade.v1.avsc", {"type": "enum", "name": "X", "symbols": ["A"]}, "a record"),
        ("pay/PaymentMade.v2.avsc", event("PaymentMade"), "v2 exists without v1"),
    ],
)
def test_naming_rules(tmp_path: Path, rel: str, schema: Any, expected: str | None) -> None:
    problems = naming_problems(write(tmp_path, rel, schema), tmp_path)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


def test_next_version_allowed_when_previous_exists(tmp_path: Path) -> None:
    write(tmp_path, "pay/PaymentMade.v1.avsc", event("PaymentMade"))
    v2 = write(tmp_path, "pay/PaymentMade.v2.avsc", event("PaymentMade"))
    assert naming_problems(v2, tmp_path) == []


def test_unreadable_json_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "pay" / "PaymentMade.v1.avsc"
    path.parent.mkdir()
    path.write_text("{not json", encoding="utf-8")
    assert any("not readable JSON" in p for p in contract_problems(path, tmp_path))


# --- history against a temporary git repository ----------------------------------------

REL = "schemas/avro/payments/PaymentReceived.v1.avsc"
GIT_IDENTITY = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
GIT_IDENTITY += ("-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null")


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return its stdout."""
    proc = subprocess.run(
        ["git", *GIT_IDENTITY, "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return proc.stdout


def fixture(case: str, which: str) -> Any:
    """One schema of a fixture pair."""
    return json.loads((FIXTURES / f"{case}.{which}.avsc").read_text(encoding="utf-8"))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository whose first commit holds v1 of PaymentReceived."""
    require_system_binary("git", install="apt-get install -y git")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write(repo, REL, fixture("breaking_field_added_without_default", "old"))
    commit(repo, "v1")
    return repo


def commit(repo: Path, message: str) -> None:
    """Commit every change in ``repo``."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def test_uncommitted_breaking_change_is_reported(repo: Path) -> None:
    path = write(repo, REL, fixture("breaking_field_added_without_default", "new"))
    assert previous_committed_schema(path) == fixture("breaking_field_added_without_default", "old")
    problems = contract_problems(path, repo / "schemas" / "avro")
    assert problems
    assert any("PaymentReceived.channel" in p and "no default" in p for p in problems)


def test_committed_breaking_change_is_reported(repo: Path) -> None:
    path = write(repo, REL, fixture("breaking_enum_symbol_removed", "new"))
    commit(repo, "remove a symbol")
    assert any("UNALLOCATED" in p for p in compatibility_problems(path))
    assert list(check_contracts(repo / "schemas" / "avro")) == [path]


def test_compatible_change_passes(repo: Path) -> None:
    path = write(repo, REL, fixture("compatible_evolution", "new"))
    assert compatibility_problems(path) == []
    commit(repo, "evolve")
    assert previous_committed_schema(path) == fixture("compatible_evolution", "old")
    assert check_contracts(repo / "schemas" / "avro") == {}


def test_previous_version_skips_unrelated_commits(repo: Path) -> None:
    path = repo / REL
    v1 = path.read_text(encoding="utf-8")
    write(repo, REL, fixture("compatible_evolution", "new"))
    commit(repo, "v1.1")
    write(repo, "README.md", "unrelated")
    commit(repo, "unrelated")
    assert previous_committed_text(path) == v1


def test_first_version_and_new_files_have_nothing_to_compare(repo: Path) -> None:
    assert previous_committed_text(repo / REL) is None
    new = write(repo, "schemas/avro/payments/PaymentFailed.v1.avsc", event("PaymentFailed"))
    assert previous_committed_text(new) is None
    git(repo, "add", str(new))
    assert previous_committed_text(new) is None


def test_shallow_clone_has_nothing_to_compare(repo: Path, tmp_path: Path) -> None:
    write(repo, REL, fixture("breaking_field_added_without_default", "new"))
    commit(repo, "break")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    assert previous_committed_text(clone / REL) is None
    assert compatibility_problems(clone / REL) == []


def test_outside_git_has_nothing_to_compare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    path = write(tmp_path, "payments/PaymentReceived.v1.avsc", event("PaymentReceived"))
    assert previous_committed_text(path) is None
    assert contract_problems(path, tmp_path) == []


def test_without_git_binary_nothing_to_compare(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(repo, REL, fixture("breaking_field_added_without_default", "new"))
    monkeypatch.setenv("PATH", "")
    assert previous_committed_text(path) is None
    assert compatibility_problems(path) == []


def test_invalid_previous_version_is_not_compared(repo: Path) -> None:
    write(repo, REL, {"type": "record", "name": "PaymentReceived", "fields": [{"name": "a"}]})
    commit(repo, "broken")
    path = write(repo, REL, fixture("breaking_field_added_without_default", "old"))
    assert compatibility_problems(path) == []
