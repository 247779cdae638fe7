"""The OpenAPI contract checks find what they claim to find (and stay quiet otherwise)."""

from typing import Annotated, Any

from caisse_shared.http.models import QueryModel, ReadModel, RequestModel, column_text
from caisse_shared.http.openapi import build_openapi
from caisse_shared.testing.contract import (
    bodies_without_example,
    column_length_mismatches,
    non_camel_names,
    unbounded_strings,
)
from fastapi import FastAPI, Path, Query
from pydantic import ConfigDict, Field
from sqlalchemy import Column, MetaData, String, Table

metadata = MetaData()
team = Table("team", metadata, Column("name", String(120)), Column("region", String(10)))


class TeamCreate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Recouvrement", "region": "DKR"}]})
    name: str = column_text(team.c.name)
    region: str | None = column_text(team.c.region, default=None)


class TeamCreateTooLong(RequestModel):
    name: str = Field(max_length=200)  # the column holds 120
    note: str  # unbounded


class TeamRead(ReadModel):
    team_name: str


class TeamQuery(QueryModel):
    name_prefix: str | None = Field(default=None, max_length=120)


def spec_of(good: bool) -> dict[str, Any]:
    app = FastAPI()
    if good:

        @app.post("/teams", response_model=TeamRead)
        async def create(body: TeamCreate) -> Any: ...

        @app.get("/teams/{team_id}")
        async def read(
            team_id: Annotated[str, Path(max_length=36)], q: Annotated[TeamQuery, Query()]
        ) -> None: ...

    else:

        @app.post("/teams")
        async def create_bad(body: TeamCreateTooLong) -> None: ...

        @app.get("/teams/{team_id}")
        async def read_bad(team_id: str, sort_by: str = "name") -> None: ...

    return build_openapi(app)


def test_a_conforming_api_passes_every_check() -> None:
    spec = spec_of(good=True)
    assert unbounded_strings(spec) == []
    assert column_length_mismatches(spec, metadata) == []
    assert bodies_without_example(spec) == []
    assert non_camel_names(spec) == []


def test_each_check_finds_its_defect() -> None:
    spec = spec_of(good=False)
    assert unbounded_strings(spec) == [
        "GET /teams/{team_id} path:team_id",
        "GET /teams/{team_id} query:sort_by",
        "POST /teams body.note",
    ]
    assert column_length_mismatches(spec, metadata) == [
        "POST /teams body.name: not linked to a column; name columns hold [120]"
    ]
    assert bodies_without_example(spec) == ["POST /teams"]
    assert non_camel_names(spec) == ["GET /teams/{team_id} query:sort_by"]


def test_a_linked_field_with_another_bound_is_a_mismatch() -> None:
    spec = spec_of(good=True)
    spec["components"]["schemas"]["TeamCreate"]["properties"]["name"]["maxLength"] = 200
    assert column_length_mismatches(spec, metadata) == [
        "POST /teams body.name: maxLength 200 != team.name 120"
    ]
