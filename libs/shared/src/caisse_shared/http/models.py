"""Base models of every HTTP API: camelCase JSON, strict scalars and one string policy.

Every request body and query model of the suite derives from :class:`RequestModel` (or
:class:`QueryModel`), every response body from :class:`ReadModel`, so the rules hold by
construction instead of field by field:

- **camelCase** on the wire (``accountNumber``), snake_case attribute names in Python; the
  snake_case spelling is still accepted on input for one release (deprecated, see
  :data:`NAMING_NOTE`);
- **strict scalars**: an integer field takes a JSON integer (not ``false``, ``"5"`` or ``5.0``), a
  boolean takes ``true``/``false`` (not ``0``), a date or time takes an ISO 8601 string (not
  ``0.5``); every integer fits PostgreSQL's BIGINT;
- **one string policy**: no NUL character and no lone surrogate anywhere in the input (PostgreSQL
  refuses both in ``text`` and ``jsonb``), and a stored string is bounded by its column's length
  (:func:`column_text`), so input the database would refuse is a 422, never a 500.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

# NUL and the UTF-16 surrogate range: neither can be stored in PostgreSQL text or jsonb.
FORBIDDEN_TEXT = re.compile("[\x00\ud800-\udfff]")
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
NAMING_NOTE = (
    "JSON field names and query parameters are camelCase. The snake_case spelling of a field is "
    "still accepted on input for one release and is deprecated."
)
TEXT_POLICY_MESSAGE = "text must be valid Unicode without NUL characters or lone surrogates"


def text_problem(value: Any, path: str = "") -> str | None:
    """The location of the first string breaking the text policy inside ``value``, or None."""
    if isinstance(value, str):
        return path or "value" if FORBIDDEN_TEXT.search(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            where = text_problem(key, inner) if isinstance(key, str) else None
            where = where or text_problem(item, inner)
            if where:
                return where
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            where = text_problem(item, f"{path}[{index}]")
            if where:
                return where
    return None


def _unwrap(annotation: Any) -> Any:
    """The scalar type behind ``Annotated[...]`` and ``X | None``; None when it is not one type."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return _unwrap(members[0]) if len(members) == 1 else None
    return annotation


def _scalar_kind(annotation: Any) -> str | None:
    """Which strict rule a field's type needs: bool, int, datetime, date or none."""
    scalar = _unwrap(annotation)
    if scalar is bool:
        return "bool"
    if scalar is int:
        return "int"
    if scalar is datetime:
        return "datetime"
    if scalar is date:
        return "date"
    return None


NUMERIC_TEXT = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _check_scalar(kind: str | None, value: Any, *, from_text: bool) -> None:
    """Refuse the coercions lax validation would make for this kind of field.

    ``from_text`` is a query string, where every value arrives as text: an integer may be
    written ``5`` there and a boolean ``true``/``false``, nothing else.
    """
    if kind is None or value is None:
        return
    if kind == "bool" and not (isinstance(value, bool) or (from_text and value in ("true", "false"))):
        raise ValueError("must be true or false")
    if kind == "int" and (isinstance(value, bool | float) or (isinstance(value, str) and not from_text)):
        raise ValueError("must be an integer")
    if kind in ("datetime", "date") and (
        isinstance(value, int | float) or (isinstance(value, str) and NUMERIC_TEXT.fullmatch(value))
    ):
        raise ValueError(f"must be an ISO 8601 {kind} string")


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class RequestModel(ApiModel):
    """A request body: unknown fields refused, strict scalars, the text policy on every value."""

    model_config = ConfigDict(extra="forbid")
    # Query strings carry every value as text: their integers are parsed, not refused.
    _text_input: ClassVar[bool] = False

    @field_validator("*", mode="before")
    @classmethod
    def _strict_input(cls, value: Any, info: ValidationInfo) -> Any:
        """Apply the text policy and the strict scalar rules before pydantic's own parsing."""
        where = text_problem(value)
        if where:
            raise ValueError(TEXT_POLICY_MESSAGE)
        field = cls.model_fields.get(info.field_name or "")
        if field is not None:
            _check_scalar(_scalar_kind(field.annotation), value, from_text=cls._text_input)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        """Integers fit BIGINT; times are UTC (a naive one is read as UTC, others converted)."""
        if isinstance(value, int) and not isinstance(value, bool):
            if not BIGINT_MIN <= value <= BIGINT_MAX:
                raise ValueError("integer out of range")
        elif isinstance(value, datetime):
            try:
                return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            except OverflowError:
                raise ValueError("date-time out of range") from None
        return value


class QueryModel(RequestModel):
    """Query parameters of a filtering endpoint: an unknown parameter is a 422."""

    _text_input: ClassVar[bool] = True


class ReadModel(ApiModel):
    """A response body, built from ORM rows or mappings."""

    model_config = ConfigDict(from_attributes=True)


def column_text(column: Any, *, min_length: int | None = None, **field: Any) -> Any:
    """A ``Field`` for a string stored in ``column``: its maxLength is the column's length."""
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"column {column} has no length: give the field an explicit max_length")
    extra: JsonDict = {"x-column": f"{column.table.name}.{column.name}"}
    return Field(max_length=length, min_length=min_length, json_schema_extra=extra, **field)
