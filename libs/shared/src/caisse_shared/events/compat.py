"""Avro schema compatibility: the schema-resolution rules of the Avro specification."""

from __future__ import annotations

from typing import Any, Literal

import fastavro

SchemaJSON = dict[str, Any] | list[Any] | str
Mode = Literal["BACKWARD", "FORWARD", "FULL"]

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED = frozenset({"record", "error", "enum", "fixed"})
COMPLEX = NAMED | {"array", "map"}
# writer type -> reader types that can read it (Avro promotions)
PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


def check_backward(new: SchemaJSON, old: SchemaJSON) -> list[str]:
    """Breaking changes for a reader using ``new`` on data written with ``old`` ([] = fine)."""
    return check_compatible(new, old, "BACKWARD")


def check_compatible(new: SchemaJSON, old: SchemaJSON, mode: str = "BACKWARD") -> list[str]:
    """Breaking changes between ``new`` and ``old`` for mode BACKWARD, FORWARD or FULL."""
    mode = mode.upper()
    if mode not in ("BACKWARD", "FORWARD", "FULL"):
        raise ValueError(f"unknown compatibility mode {mode!r}")
    invalid = [f"new {p}" for p in schema_problems(new)] + [f"old {p}" for p in schema_problems(old)]
    if invalid:
        return invalid
    problems: list[str] = []
    if mode in ("BACKWARD", "FULL"):
        problems += _resolve(reader=(new, "new"), writer=(old, "old"), label="backward")
    if mode in ("FORWARD", "FULL"):
        problems += _resolve(reader=(old, "old"), writer=(new, "new"), label="forward")
    return problems


def schema_problems(schema: SchemaJSON) -> list[str]:
    """Why ``schema`` is not a valid Avro schema ([] = valid)."""
    try:
        named: dict[str, Any] = {}
        parsed = fastavro.parse_schema(schema, named_schemas=named)
    except Exception as exc:  # fastavro raises assorted errors on bad schemas
        return [f"schema is invalid: {type(exc).__name__}: {exc}"]
    return [f"schema is invalid: {p}" for p in _structure_problems(parsed, "<root>")]


def _structure_problems(schema: Any, path: str) -> list[str]:
    """Spec rules fastavro does not enforce: unique field names, well-formed unions."""
    if isinstance(schema, list):
        problems = [f"{path}: union nested directly in a union" for b in schema if _is_union(b)]
        kinds = [_branch_key(b) for b in schema]
        problems += [f"{path}: union has two branches of type {k}" for k in _dupes(kinds)]
        for branch in schema:
            problems += _structure_problems(branch, f"{path}<{_describe(branch)}>")
        return problems
    if not isinstance(schema, dict):
        return []
    kind = schema.get("type")
    if kind in ("record", "error"):
        here = _short(schema["name"])
        names = [f["name"] for f in schema["fields"]]
        problems = [f"{here}: duplicate field name {n!r}" for n in _dupes(names)]
        for field in schema["fields"]:
            problems += _structure_problems(field["type"], f"{here}.{field['name']}")
        return problems
    if kind == "array":
        return _structure_problems(schema["items"], f"{path}[]")
    if kind == "map":
        return _structure_problems(schema["values"], f"{path}{{}}")
    return []


def _resolve(reader: tuple[SchemaJSON, str], writer: tuple[SchemaJSON, str], label: str) -> list[str]:
    """Problems when data written with ``writer`` is read with ``reader``."""
    r_named: dict[str, Any] = {}
    w_named: dict[str, Any] = {}
    r_schema: Any = fastavro.parse_schema(reader[0], named_schemas=r_named)
    w_schema: Any = fastavro.parse_schema(writer[0], named_schemas=w_named)
    resolver = _Resolver(r_named, w_named, reader[1], writer[1])
    root = _short(r_schema["name"]) if _kind(r_schema, r_named) in NAMED else "<root>"
    resolver.check(r_schema, w_schema, root)
    who = f"{reader[1]} schema cannot read data written with {writer[1]} schema"
    return [f"{label} ({who}): {p}" for p in resolver.problems]


class _Resolver:
    """Walks a reader and a writer schema side by side, collecting resolution failures."""

    def __init__(self, r_named: dict[str, Any], w_named: dict[str, Any], r: str, w: str) -> None:
        self.r_named, self.w_named = r_named, w_named
        self.r_label, self.w_label = r, w
        self.problems: list[str] = []
        self.seen: set[tuple[str, str]] = set()

    def check(self, r: Any, w: Any, path: str) -> None:
        """Record why ``w`` data cannot be read as ``r`` (nothing when it can)."""
        r, w = _deref(r, self.r_named), _deref(w, self.w_named)
        rk, wk = _kind(r, self.r_named), _kind(w, self.w_named)
        if wk == "union":
            for branch in w:
                self.check(r, branch, f"{path}<{_describe(branch)}>")
        elif rk == "union":
            if not any(self.matches(branch, w) for branch in r):
                self.fail(
                    path,
                    f"{self.w_label} type {_describe(w)} matches no branch of "
                    f"{self.r_label} union {_describe(r)}",
                )
        elif rk != wk:
            if rk not in PROMOTIONS.get(wk, frozenset()):
                self.fail(
                    path,
                    f"type changed: {self.w_label} {_describe(w)}, "
                    f"{self.r_label} {_describe(r)} (no Avro promotion)",
                )
        elif rk in NAMED:
            self.check_named(r, w, path, rk)
        elif rk == "array":
            self.check(r["items"], w["items"], f"{path}[]")
        elif rk == "map":
            self.check(r["values"], w["values"], f"{path}{{}}")

    def matches(self, r: Any, w: Any) -> bool:
        """Whether ``w`` resolves to ``r`` without any problem (no side effects)."""
        saved_problems, saved_seen = self.problems, set(self.seen)
        self.problems = []
        try:
            self.check(r, w, "")
            return not self.problems
        finally:
            self.problems, self.seen = saved_problems, saved_seen

    def fail(self, path: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(f"{path}: {message}")

    def check_named(self, r: dict[str, Any], w: dict[str, Any], path: str, kind: str) -> None:
        """Records, enums and fixed: names (or aliases) must match, then their own rules."""
        if not _names_match(r, w):
            self.fail(
                path,
                f"{kind} name changed: {self.w_label} {w['name']!r}, "
                f"{self.r_label} {r['name']!r} (without an alias to the old name)",
            )
            return
        key = (r["name"], w["name"])
        if key in self.seen:  # recursive type already being compared
            return
        self.seen.add(key)
        if kind in ("record", "error"):
            self.check_record(r, w, path)
        elif kind == "enum":
            self.check_enum(r, w, path)
        elif r["size"] != w["size"]:
            self.fail(path, f"fixed size changed: {self.w_label} {w['size']}, {self.r_label} {r['size']}")

    def check_record(self, r: dict[str, Any], w: dict[str, Any], path: str) -> None:
        """Reader fields come from the writer field of the same name or alias, or a default."""
        by_name = {f["name"]: f for f in w["fields"]}
        for field in r["fields"]:
            candidates = [field["name"], *field.get("aliases", [])]
            found = next((by_name[n] for n in candidates if n in by_name), None)
            if found is not None:
                self.check(field["type"], found["type"], f"{path}.{field['name']}")
            elif "default" not in field:
                self.fail(
                    f"{path}.{field['name']}",
                    f"field of the {self.r_label} schema has "
                    f"no default and is absent from the {self.w_label} schema",
                )

    def check_enum(self, r: dict[str, Any], w: dict[str, Any], path: str) -> None:
        """Every writer symbol must be a reader symbol, unless the reader enum has a default."""
        missing = [s for s in w["symbols"] if s not in r["symbols"]]
        if missing and "default" not in r:
            self.fail(
                path,
                f"enum symbols {missing} of the {self.w_label} schema are unknown "
                f"to the {self.r_label} schema, which has no enum default",
            )


def _deref(schema: Any, named: dict[str, Any]) -> Any:
    """Follow a named-type reference (a full name, or ``{"type": <full name>}``)."""
    if isinstance(schema, dict) and isinstance(schema.get("type"), str | dict | list):
        inner = schema["type"]
        if not (isinstance(inner, str) and (inner in PRIMITIVES or inner in COMPLEX)):
            return _deref(inner, named)
    if isinstance(schema, str) and schema not in PRIMITIVES and schema in named:
        return named[schema]
    return schema


def _kind(schema: Any, named: dict[str, Any]) -> str:
    """``"union"``, a primitive name or a complex type name; logical types are ignored."""
    schema = _deref(schema, named)
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, str):
        return schema
    kind = schema["type"]
    return "record" if kind == "error" else str(kind)


def _names_match(r: dict[str, Any], w: dict[str, Any]) -> bool:
    """Same unqualified name, or a reader alias equal to the writer's full name."""
    if _short(r["name"]) == _short(w["name"]):
        return True
    namespace = r["name"].rpartition(".")[0]
    aliases = {a if "." in a or not namespace else f"{namespace}.{a}" for a in r.get("aliases", [])}
    return w["name"] in aliases


def _short(name: str) -> str:
    """Unqualified name."""
    return name.rpartition(".")[2]


def _is_union(schema: Any) -> bool:
    """Whether ``schema`` is a union."""
    return isinstance(schema, list)


def _branch_key(schema: Any) -> str:
    """What makes two union branches clash: same primitive/complex kind, or same name."""
    if isinstance(schema, str):
        return schema
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind in NAMED:
            return str(schema["name"])
        return kind if isinstance(kind, str) else _describe(kind)
    return "union"


def _dupes(items: list[str]) -> list[str]:
    """Items occurring more than once, in first-seen order."""
    return sorted({i for i in items if items.count(i) > 1}, key=items.index)


def _describe(schema: Any) -> str:
    """Short human-readable form of a (parsed) schema."""
    if isinstance(schema, list):
        return "[" + ", ".join(_describe(b) for b in schema) + "]"
    if isinstance(schema, str):
        return schema
    kind = schema.get("type")
    if kind in NAMED:
        return f"{kind} {schema['name']}"
    if kind == "array":
        return f"array<{_describe(schema['items'])}>"
    if kind == "map":
        return f"map<{_describe(schema['values'])}>"
    if isinstance(kind, str) and "logicalType" in schema:
        return f"{kind} ({schema['logicalType']})"
    return _describe(kind) if kind is not None else "?"
