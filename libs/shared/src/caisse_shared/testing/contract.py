"""Checks of a service's OpenAPI document against its tables and the suite's API rules.

- every string a caller sends (body property, path, query or header parameter) has a maxLength,
  unless an enum or a format bounds it;
- a body property linked to a column (``x-column``, set by ``column_text``) has exactly the
  column's length, and a body property named like a column of the service's tables is linked
  (so no stored field can be left with a bound of its own);
- every request body has an example;
- every JSON field and query parameter is camelCase.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import MetaData

BOUNDED_FORMATS = frozenset({"uuid", "date", "date-time", "email", "uri", "binary"})
CAMEL = re.compile(r"[a-z][a-zA-Z0-9]*")


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    target: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return _resolve(spec, target)


def _strings(
    spec: dict[str, Any], schema: dict[str, Any], where: str, seen: set[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every string-typed (sub)schema reachable from ``schema``, with its location.

    A member of ``anyOf`` (an optional field) keeps its property's ``x-`` annotations.
    """
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return
        seen = seen | {ref}
    schema = _resolve(spec, schema)
    notes = {k: v for k, v in schema.items() if k.startswith("x-")}
    for key in ("anyOf", "oneOf", "allOf"):
        for member in schema.get(key, []):
            for loc, string in _strings(spec, member, where, seen):
                yield loc, {**notes, **string}
    if schema.get("type") == "string":
        yield where, schema
    for name, prop in schema.get("properties", {}).items():
        yield from _strings(spec, prop, f"{where}.{name}", seen)
    if isinstance(schema.get("items"), dict):
        yield from _strings(spec, schema["items"], f"{where}[]", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _strings(spec, schema["additionalProperties"], f"{where}{{}}", seen)


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield f"{method.upper()} {path}", op


def _body_schema(op: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {})
    media = content.get("application/json") or next(iter(content.values()), None)
    return None if media is None else media.get("schema", {})


def unbounded_strings(spec: dict[str, Any]) -> list[str]:
    """Locations of caller-supplied strings with no maxLength (nor enum, format, const)."""
    found = []
    for label, op in _operations(spec):
        sources = [(f"{label} {p['in']}:{p['name']}", p.get("schema", {})) for p in op.get("parameters", [])]
        body = _body_schema(op)
        if body is not None:
            sources.append((f"{label} body", body))
        for where, schema in sources:
            for loc, string in _strings(spec, schema, where, set()):
                bounded = "maxLength" in string or "enum" in string or "const" in string
                if not bounded and string.get("format") not in BOUNDED_FORMATS:
                    found.append(loc)
    return sorted(set(found))


def _body_strings(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(location, property name, string schema) of every string in every request body."""
    for label, op in _operations(spec):
        body = _body_schema(op)
        if body is None:
            continue
        for loc, string in _strings(spec, body, f"{label} body", set()):
            yield loc, loc.rsplit(".", 1)[-1].rstrip("[]{}"), string


def column_length_mismatches(spec: dict[str, Any], metadata: MetaData) -> list[str]:
    """Body strings whose maxLength differs from their column's, or that a column's name
    matches without an ``x-column`` link."""
    lengths: dict[str, int] = {}
    by_name: dict[str, set[int]] = {}
    for table in metadata.tables.values():
        for column in table.columns:
            length = getattr(column.type, "length", None)
            if isinstance(length, int):
                lengths[f"{table.name}.{column.name}"] = length
                by_name.setdefault(column.name, set()).add(length)
    problems = []
    for loc, name, string in _body_strings(spec):
        linked = string.get("x-column")
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        if linked is not None:
            if lengths.get(linked) != string.get("maxLength"):
                problems.append(
                    f"{loc}: maxLength {string.get('maxLength')} != {linked} {lengths.get(linked)}"
                )
        elif (
            snake in by_name
            and "enum" not in string
            and string.get("format") not in BOUNDED_FORMATS
            and by_name[snake] != {string.get("maxLength")}
        ):
            problems.append(f"{loc}: not linked to a column; {snake} columns hold {sorted(by_name[snake])}")
    return sorted(set(problems))


def bodies_without_example(spec: dict[str, Any]) -> list[str]:
    """Operations whose request body schema shows no example."""
    missing = []
    for label, op in _operations(spec):
        body = _body_schema(op)
        if body is None:
            continue
        media = next(iter(op["requestBody"]["content"].values()))
        schema = _resolve(spec, body)
        if not any(k in media for k in ("example", "examples")) and not any(
            k in schema for k in ("example", "examples")
        ):
            missing.append(label)
    return missing


def non_camel_names(spec: dict[str, Any]) -> list[str]:
    """Body properties and query parameters that are not camelCase."""
    found = []
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        if name == "Problem":
            continue
        for prop in schema.get("properties", {}):
            if not CAMEL.fullmatch(prop):
                found.append(f"schema {name}.{prop}")
    for label, op in _operations(spec):
        for p in op.get("parameters", []):
            if p["in"] == "query" and not CAMEL.fullmatch(p["name"]):
                found.append(f"{label} query:{p['name']}")
    return sorted(found)
