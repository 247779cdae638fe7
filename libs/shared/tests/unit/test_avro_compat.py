"""Avro schema compatibility checker: every resolution rule, and the fixture schema pairs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from caisse_shared.events.compat import check_backward, check_compatible, schema_problems

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "avro_compat"
CASES = sorted(p.name.removesuffix(".old.avsc") for p in FIXTURES.glob("*.old.avsc"))

# what the BACKWARD report of each breaking fixture pair must mention
EXPECTED = {
    "breaking_array_items_changed": "tags[]: type changed: old int, new string",
    "breaking_enum_symbol_removed": "enum symbols ['UNALLOCATED']",
    "breaking_field_added_without_default": "PaymentReceived.channel: field of the new",
    "breaking_fixed_size_changed": "fixed size changed: old 16, new 32",
    "breaking_map_values_changed": "extra{}: type changed: old float, new int",
    "breaking_nested_record_field_added": "PaymentReceived.payer.name",
    "breaking_record_renamed": "record name changed",
    "breaking_type_narrowed": "paid_at: type changed: old long, new int",
    "breaking_union_narrowed": "account_number<null>",
}


def load_pair(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(new, old) schemas of a fixture pair."""
    new = json.loads((FIXTURES / f"{case}.new.avsc").read_text(encoding="utf-8"))
    old = json.loads((FIXTURES / f"{case}.old.avsc").read_text(encoding="utf-8"))
    return new, old


def record(fields: list[dict[str, Any]], name: str = "Ev", **extra: Any) -> dict[str, Any]:
    """A record schema in namespace ``caisse.test``."""
    return {"type": "record", "name": name, "namespace": "caisse.test", "fields": fields, **extra}


def one(type_: Any, **extra: Any) -> dict[str, Any]:
    """A record with a single field ``f`` of ``type_``."""
    return record([{"name": "f", "type": type_, **extra}])


def test_fixture_cases_are_present() -> None:
    assert {c for c in CASES if c.startswith("compatible_")}
    assert set(EXPECTED) <= set(CASES)


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("compatible_")])
def test_compatible_fixture_pairs_pass(case: str) -> None:
    new, old = load_pair(case)
    assert check_backward(new, old) == []


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("breaking_")])
def test_breaking_fixture_pairs_fail(case: str) -> None:
    new, old = load_pair(case)
    report = check_backward(new, old)
    assert report, f"{case} should be reported as breaking"
    assert any(EXPECTED[case] in line for line in report), report


def test_every_fixture_schema_is_valid() -> None:
    for path in FIXTURES.glob("*.avsc"):
        assert schema_problems(json.loads(path.read_text(encoding="utf-8"))) == [], path.name


def test_identical_schemas_are_fully_compatible() -> None:
    _new, old = load_pair("compatible_evolution")
    assert check_compatible(old, copy.deepcopy(old), "FULL") == []


def test_inputs_are_not_mutated() -> None:
    new, old = load_pair("compatible_evolution")
    before = (copy.deepcopy(new), copy.deepcopy(old))
    check_compatible(new, old, "FULL")
    assert (new, old) == before


# --- records ---------------------------------------------------------------------------


def test_added_field_with_default_is_backward_compatible() -> None:
    old = record([{"name": "a", "type": "int"}])
    new = record([{"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": ""}])
    assert check_compatible(new, old, "FULL") == []


def test_added_field_without_default_breaks_backward_only() -> None:
    old = record([{"name": "a", "type": "int"}])
    new = record([{"name": "a", "type": "int"}, {"name": "b", "type": "string"}])
    assert check_compatible(new, old, "FORWARD") == []
    [problem] = check_backward(new, old)
    assert "Ev.b" in problem
    assert "no default" in problem


def test_removed_field_is_backward_compatible() -> None:
    old = record([{"name": "a", "type": "int"}, {"name": "b", "type": "string"}])
    new = record([{"name": "a", "type": "int"}])
    assert check_backward(new, old) == []


def test_removed_field_without_default_breaks_forward() -> None:
    old = record([{"name": "a", "type": "int"}, {"name": "b", "type": "string"}])
    new = record([{"name": "a", "type": "int"}])
    [problem] = check_compatible(new, old, "FORWARD")
    assert problem.startswith("forward")
    assert "Ev.b" in problem
    assert len(check_compatible(new, old, "FULL")) == 1


def test_removed_field_with_default_in_old_is_forward_compatible() -> None:
    old = record([{"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": "x"}])
    new = record([{"name": "a", "type": "int"}])
    assert check_compatible(new, old, "FULL") == []


def test_field_renamed_with_alias_is_compatible() -> None:
    old = record([{"name": "amount", "type": "long"}])
    new = record([{"name": "amount_minor", "aliases": ["amount"], "type": "long"}])
    assert check_backward(new, old) == []


def test_field_renamed_without_alias_breaks() -> None:
    old = record([{"name": "amount", "type": "long"}])
    new = record([{"name": "amount_minor", "type": "long"}])
    assert check_backward(new, old)


def test_field_order_does_not_matter() -> None:
    old = record([{"name": "a", "type": "int"}, {"name": "b", "type": "string"}])
    new = record([{"name": "b", "type": "string"}, {"name": "a", "type": "int"}])
    assert check_compatible(new, old, "FULL") == []


# --- primitives and promotions ------------------------------------------------------------

PROMOTABLE = [
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
]


@pytest.mark.parametrize(("writer", "reader"), PROMOTABLE)
def test_promotions_are_backward_compatible(writer: str, reader: str) -> None:
    assert check_backward(one(reader), one(writer)) == []


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        ("long", "int"),
        ("double", "float"),
        ("float", "long"),
        ("string", "int"),
        ("boolean", "int"),
        ("int", "string"),
        ("null", "string"),
    ],
)
def test_other_type_changes_break(writer: str, reader: str) -> None:
    [problem] = check_backward(one(reader), one(writer))
    assert f"type changed: old {writer}, new {reader}" in problem


def test_widening_is_not_forward_compatible() -> None:
    assert check_compatible(one("long"), one("int"), "FORWARD")
    assert check_compatible(one("long"), one("int"), "FULL")
    assert check_compatible(one("string"), one("bytes"), "FULL") == []


# --- unions -------------------------------------------------------------------------------


def test_union_widened_is_backward_compatible() -> None:
    old = one(["null", "string"], default=None)
    new = one(["null", "string", "long"], default=None)
    assert check_backward(new, old) == []
    assert check_compatible(new, old, "FORWARD")  # old readers cannot read a long


def test_union_narrowed_breaks() -> None:
    old = one(["null", "string", "long"], default=None)
    new = one(["null", "string"], default=None)
    [problem] = check_backward(new, old)
    assert "Ev.f<long>" in problem
    assert "matches no branch" in problem


def test_plain_type_made_optional_is_backward_compatible() -> None:
    assert check_backward(one(["null", "string"], default=None), one("string")) == []


def test_optional_made_plain_breaks() -> None:
    [problem] = check_backward(one("string"), one(["null", "string"], default=None))
    assert "Ev.f<null>" in problem


def test_union_branch_accepts_promotion() -> None:
    assert check_backward(one(["null", "long"], default=None), one("int")) == []
    assert check_backward(one(["null", "long"], default=None), one(["null", "int"])) == []


def test_union_of_records_matches_by_name() -> None:
    a = {"type": "record", "name": "A", "fields": [{"name": "x", "type": "int"}]}
    b = {"type": "record", "name": "B", "fields": [{"name": "y", "type": "int"}]}
    assert check_backward(one(["null", a, b], default=None), one(["null", b], default=None)) == []
    assert check_backward(one(["null", a], default=None), one(["null", b], default=None))


# --- enums --------------------------------------------------------------------------------


def enum(symbols: list[str], **extra: Any) -> dict[str, Any]:
    """An enum named Status."""
    return {"type": "enum", "name": "Status", "symbols": symbols, **extra}


def test_enum_symbol_added_is_backward_compatible() -> None:
    assert check_backward(one(enum(["A", "B", "C"])), one(enum(["A", "B"]))) == []
    assert check_compatible(one(enum(["A", "B", "C"])), one(enum(["A", "B"])), "FORWARD")


def test_enum_symbol_removed_breaks() -> None:
    [problem] = check_backward(one(enum(["A"])), one(enum(["A", "B"])))
    assert "['B']" in problem


def test_enum_symbol_removed_with_default_is_compatible() -> None:
    assert check_backward(one(enum(["A"], default="A")), one(enum(["A", "B"]))) == []


def test_enum_symbol_added_forward_compatible_when_old_has_default() -> None:
    old = one(enum(["UNKNOWN", "A"], default="UNKNOWN"))
    new = one(enum(["UNKNOWN", "A", "B"], default="UNKNOWN"))
    assert check_compatible(new, old, "FULL") == []


def test_enum_renamed_breaks() -> None:
    renamed = {"type": "enum", "name": "State", "symbols": ["A"]}
    assert check_backward(one(renamed), one(enum(["A"])))


# --- arrays, maps, fixed ---------------------------------------------------------------------


def test_array_items_checked_recursively() -> None:
    old = one({"type": "array", "items": "int"})
    assert check_backward(one({"type": "array", "items": "long"}), old) == []
    [problem] = check_backward(one({"type": "array", "items": "string"}), old)
    assert "Ev.f[]" in problem


def test_map_values_checked_recursively() -> None:
    old = one({"type": "map", "values": "float"})
    assert check_backward(one({"type": "map", "values": "double"}), old) == []
    [problem] = check_backward(one({"type": "map", "values": "int"}), old)
    assert "Ev.f{}" in problem


def test_array_of_records_checked_recursively() -> None:
    item_old = {"type": "record", "name": "Line", "fields": [{"name": "x", "type": "int"}]}
    item_new = {**item_old, "fields": [*item_old["fields"], {"name": "y", "type": "int"}]}
    [problem] = check_backward(
        one({"type": "array", "items": item_new}), one({"type": "array", "items": item_old})
    )
    assert "Ev.f[].y" in problem


def test_array_vs_map_breaks() -> None:
    assert check_backward(one({"type": "map", "values": "int"}), one({"type": "array", "items": "int"}))


def test_fixed_size_change_breaks() -> None:
    old = one({"type": "fixed", "name": "Hash", "size": 16})
    assert check_backward(one({"type": "fixed", "name": "Hash", "size": 16}), old) == []
    [problem] = check_backward(one({"type": "fixed", "name": "Hash", "size": 8}), old)
    assert "fixed size changed: old 16, new 8" in problem


def test_fixed_renamed_breaks_unless_alias() -> None:
    old = one({"type": "fixed", "name": "Hash", "size": 16})
    assert check_backward(one({"type": "fixed", "name": "Digest", "size": 16}), old)
    aliased = {"type": "fixed", "name": "Digest", "size": 16, "aliases": ["Hash"]}
    assert check_backward(one(aliased), old) == []


# --- named types, namespaces, aliases ----------------------------------------------------------


def test_record_renamed_breaks() -> None:
    [problem] = check_backward(record([], name="Other"), record([]))
    assert "record name changed" in problem


def test_record_renamed_with_alias_is_backward_compatible() -> None:
    new = record([], name="Other", aliases=["Ev"])
    assert check_backward(new, record([])) == []
    assert check_compatible(new, record([]), "FORWARD")  # old reader has no alias


def test_record_alias_is_qualified_with_the_record_namespace() -> None:
    old = {"type": "record", "name": "Ev", "namespace": "elsewhere", "fields": []}
    assert check_backward(record([], name="Other", aliases=["Ev"]), old)
    assert check_backward(record([], name="Other", aliases=["elsewhere.Ev"]), old) == []


def test_namespace_change_alone_is_compatible() -> None:
    old = {"type": "record", "name": "Ev", "namespace": "caisse.old", "fields": []}
    assert check_compatible(record([]), old, "FULL") == []


def test_named_type_references_are_resolved() -> None:
    money = {"type": "record", "name": "Money", "fields": [{"name": "minor", "type": "int"}]}
    old = record([{"name": "amount", "type": money}, {"name": "fee", "type": "Money"}])
    new_money = {**money, "fields": [{"name": "minor", "type": "long"}]}
    new = record([{"name": "amount", "type": new_money}, {"name": "fee", "type": "caisse.test.Money"}])
    assert check_backward(new, old) == []
    bad_money = {**money, "fields": [{"name": "minor", "type": "string"}]}
    bad = record([{"name": "amount", "type": bad_money}, {"name": "fee", "type": "Money"}])
    [problem] = check_backward(bad, old)  # reported once, at the definition
    assert "Ev.amount.minor: type changed: old int, new string" in problem


def test_recursive_types_terminate() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "value", "type": "int"},
            {"name": "next", "type": ["null", "Node"], "default": None},
        ],
    }
    new_node = copy.deepcopy(node)
    new_node["fields"][0]["type"] = "long"
    assert check_backward(new_node, node) == []
    bad = copy.deepcopy(node)
    bad["fields"].append({"name": "label", "type": "string"})
    assert check_backward(bad, node)


# --- logical types ----------------------------------------------------------------------------


def test_logical_types_are_ignored_except_underlying_type() -> None:
    plain = one("long")
    stamped = one({"type": "long", "logicalType": "timestamp-millis"})
    micros = one({"type": "long", "logicalType": "timestamp-micros"})
    assert check_compatible(stamped, plain, "FULL") == []
    assert check_compatible(micros, stamped, "FULL") == []
    uuid = one({"type": "string", "logicalType": "uuid"})
    assert check_compatible(uuid, one("string"), "FULL") == []
    [problem] = check_backward(one({"type": "int", "logicalType": "date"}), stamped)
    assert "old long (timestamp-millis), new int (date)" in problem


def test_decimal_underlying_fixed_size_matters() -> None:
    dec = {"type": "fixed", "name": "Amount", "size": 8, "logicalType": "decimal", "precision": 10}
    assert check_backward(one({**dec, "size": 16}), one(dec))


# --- validity and modes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "record", "name": "Ev", "fields": [{"name": "a", "type": "Unknown"}]},
        {"type": "enum", "name": "E", "symbols": ["A", "A"]},
        {"type": "fixed", "name": "F"},
        {"type": "bogus"},
        {"type": "record", "name": "Ev", "fields": [{"name": "a", "type": "int", "default": "x"}]},
        {
            "type": "record",
            "name": "Ev",
            "fields": [{"name": "a", "type": {"type": {"type": "int"}}}],
        },
        record([{"name": "a", "type": "int"}, {"name": "a", "type": "long"}]),
        one(["null", "int", "int"]),
        one(["null", ["int", "long"]]),
    ],
)
def test_invalid_schema_is_a_message_not_an_exception(bad: Any) -> None:
    report = check_backward(bad, one("int"))
    assert report
    assert report[0].startswith("new schema is invalid")
    report = check_compatible(one("int"), bad, "FULL")
    assert report[0].startswith("old schema is invalid")


def test_valid_schema_has_no_problems() -> None:
    assert schema_problems(one(["null", "int", {"type": "array", "items": "int"}], default=None)) == []


def test_mode_is_case_insensitive_and_checked() -> None:
    assert check_compatible(one("int"), one("int"), "full") == []
    with pytest.raises(ValueError, match="unknown compatibility mode"):
        check_compatible(one("int"), one("int"), "TRANSITIVE")


def test_non_record_top_level_schemas() -> None:
    assert check_backward("long", "int") == []
    assert check_backward("int", "long")
    assert check_backward({"type": "array", "items": "double"}, {"type": "array", "items": "int"}) == []
