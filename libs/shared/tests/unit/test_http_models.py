"""The base request/response models: camelCase, strict scalars, the text policy, column bounds."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from caisse_shared.http.models import QueryModel, ReadModel, RequestModel, column_text, text_problem
from pydantic import Field, ValidationError
from sqlalchemy import Column, Integer, MetaData, String, Table

widget = Table("widget", MetaData(), Column("name", String(12)), Column("size", Integer))


class WidgetCreate(RequestModel):
    account_number: str | None = Field(default=None, max_length=20)
    amount: int = 1
    active: bool = False
    due_at: datetime | None = None
    due_on: date | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    name: str | None = column_text(widget.c.name, default=None)


class WidgetQuery(QueryModel):
    page_size: int = 10
    until: datetime | None = None
    active: bool | None = None


class WidgetRead(ReadModel):
    account_number: str
    due_at: datetime | None = None


def errors(model: type, data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [str(e["msg"]) for e in caught.value.errors()]


def test_camel_case_on_the_wire_and_snake_case_still_accepted() -> None:
    assert WidgetCreate.model_validate({"accountNumber": "A1"}).account_number == "A1"
    assert WidgetCreate.model_validate({"account_number": "A1"}).account_number == "A1"
    assert WidgetRead(account_number="A1").model_dump_json() == '{"accountNumber":"A1","dueAt":null}'
    assert "accountNumber" in WidgetCreate.model_json_schema()["properties"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", False),
        ("amount", "5"),
        ("amount", 5.0),
        ("amount", 2**63),
        ("active", 0),
        ("active", "true"),
        ("dueAt", 0.5),
        ("dueAt", "0.5"),
        ("dueOn", 20240101),
        ("dueAt", "9999-12-31T23:59:59-14:00"),
    ],
)
def test_strict_scalars_refuse_lax_coercions(field: str, value: Any) -> None:
    assert errors(WidgetCreate, {field: value})


def test_unknown_fields_are_refused() -> None:
    assert errors(WidgetCreate, {"colour": "red"}) == ["Extra inputs are not permitted"]


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800", "ok\udfff"])
def test_text_policy_refuses_nul_and_lone_surrogates_anywhere(bad: str) -> None:
    assert errors(WidgetCreate, {"accountNumber": bad})
    assert errors(WidgetCreate, {"extra": {"nested": [1, {"deep": bad}]}})
    assert errors(WidgetCreate, {"extra": {bad: 1}})


def test_text_problem_names_the_location() -> None:
    assert text_problem({"a": [1, {"b": "x\x00"}]}) == "a[1].b"
    assert text_problem({"a": "fine", "b": ["é", "日本"]}) is None


def test_times_are_utc_and_naive_means_utc() -> None:
    naive = WidgetCreate.model_validate({"dueAt": "2026-01-02T03:04:05"}).due_at
    offset = WidgetCreate.model_validate({"dueAt": "2026-01-02T03:04:05+01:00"}).due_at
    assert naive == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert offset == datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert offset is not None and offset.tzinfo is UTC


def test_query_models_parse_text_but_stay_strict() -> None:
    q = WidgetQuery.model_validate({"pageSize": "5", "active": "true", "until": "2026-01-01"})
    assert (q.page_size, q.active) == (5, True)
    assert errors(WidgetQuery, {"until": "0.5"})
    assert errors(WidgetQuery, {"active": "1"})
    assert errors(WidgetQuery, {"pageSize": "99999999999999999999"})
    assert errors(WidgetQuery, {"account_number": "x"}) == ["Extra inputs are not permitted"]


def test_column_text_takes_the_columns_length() -> None:
    prop = WidgetCreate.model_json_schema()["properties"]["name"]
    assert prop["anyOf"][0]["maxLength"] == 12
    assert prop["x-column"] == "widget.name"
    assert errors(WidgetCreate, {"name": "x" * 13})
    with pytest.raises(TypeError):
        column_text(widget.c.size)
