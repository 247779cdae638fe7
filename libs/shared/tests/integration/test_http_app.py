"""The app factory over HTTP: idempotent POSTs, problem+json, auth, health, metrics."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from caisse_shared.config import ServiceSettings
from caisse_shared.db import Database
from caisse_shared.errors import Conflict
from caisse_shared.http.app import create_service_app
from caisse_shared.http.idempotency import IdempotencyKey, run_idempotent
from caisse_shared.http.security import Principal, require
from caisse_shared.testing.tokens import TokenFactory
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from .conftest import widgets

pytestmark = pytest.mark.integration


class WidgetCreate(BaseModel):
    amount: int = Field(gt=0, le=10**15)
    currency: str = Field(pattern="^[A-Z]{3}$")


class WidgetRead(BaseModel):
    id: str
    amount: int
    currency: str


def build_app(database: Database, tokens: TokenFactory, bootstrap: str) -> FastAPI:
    router = APIRouter()

    async def session_dep() -> AsyncIterator[AsyncSession]:
        async with database.unit_of_work() as s:
            yield s

    Session = Annotated[AsyncSession, Depends(session_dep, scope="function")]

    async def create_widget(session: AsyncSession, body: WidgetCreate) -> WidgetRead:
        wid = uuid.uuid4().hex
        await asyncio.sleep(0.01)  # widen the race window
        await session.execute(insert(widgets).values(id=wid, amount=body.amount))
        if body.amount == 13:
            raise Conflict("unlucky amount")
        return WidgetRead(id=wid, amount=body.amount, currency=body.currency)

    @router.post("/widgets", status_code=201)
    async def post_widget(
        body: WidgetCreate,
        session: Session,
        key: IdempotencyKey = None,
        principal: Principal = Depends(require("demo:create")),
    ) -> object:
        result = await run_idempotent(
            session,
            scope=f"widgets:{principal.subject}",
            key=key,
            request_body=body,
            action=lambda: create_widget(session, body),
        )
        return result.response()

    settings = ServiceSettings(
        kafka_bootstrap_servers=bootstrap,
        database_url=str(database.engine.url),
        max_body_bytes=2048,
    )
    return create_service_app(
        settings=settings,
        database=database,
        routers=[router],
        title="demo",
        verifier=tokens.verifier(),
    )


@pytest.fixture
async def client(database: Database, token_factory: TokenFactory, kafka_bootstrap: str):  # type: ignore[no-untyped-def]
    app = build_app(database, token_factory, kafka_bootstrap)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def count(database: Database) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(widgets))).scalar_one())


async def test_twenty_concurrent_identical_posts_have_one_effect(client, database, token_factory) -> None:  # type: ignore[no-untyped-def]
    headers = {**token_factory.headers("demo:create"), "Idempotency-Key": "k-" + uuid.uuid4().hex}
    body = {"amount": 2500, "currency": "XOF"}
    responses = await asyncio.gather(
        *(client.post("/widgets", json=body, headers=headers) for _ in range(20))
    )
    assert {r.status_code for r in responses} == {201}, responses[0].text
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert await count(database) == 1


async def test_same_key_other_body_is_rejected(client, database, token_factory) -> None:  # type: ignore[no-untyped-def]
    headers = {**token_factory.headers("demo:create"), "Idempotency-Key": "k-" + uuid.uuid4().hex}
    assert (
        await client.post("/widgets", json={"amount": 1, "currency": "XOF"}, headers=headers)
    ).status_code == 201
    r = await client.post("/widgets", json={"amount": 2, "currency": "XOF"}, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "idempotency_key_reused"
    assert await count(database) == 1


async def test_failed_action_stores_nothing(client, database, token_factory) -> None:  # type: ignore[no-untyped-def]
    headers = {**token_factory.headers("demo:create"), "Idempotency-Key": "k-" + uuid.uuid4().hex}
    r = await client.post("/widgets", json={"amount": 13, "currency": "XOF"}, headers=headers)
    assert r.status_code == 409
    assert await count(database) == 0  # no half-written state: the insert was rolled back


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"{not json", 400),
        (b'{"amount": "lots", "currency": "XOF"}', 422),
        (b'{"amount": 5, "currency": "euro"}', 422),
        (b'{"amount": 1e400, "currency": "XOF"}', 422),
        (b"[]", 422),
        (b'{"amount": 5, "currency": "XOF", "pad": "' + b"x" * 4000 + b'"}', 413),
    ],
)
async def test_bad_input_gets_problem_json(client, token_factory, payload: bytes, status: int) -> None:  # type: ignore[no-untyped-def]
    headers = {**token_factory.headers("demo:create"), "content-type": "application/json"}
    r = await client.post("/widgets", content=payload, headers=headers)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_auth_401_and_403(client, token_factory) -> None:  # type: ignore[no-untyped-def]
    body = {"amount": 1, "currency": "XOF"}
    r = await client.post("/widgets", json=body)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = await client.post("/widgets", json=body, headers=token_factory.headers("demo:read"))
    assert r.status_code == 403
    r = await client.post("/widgets", json=body, headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code == 401
    restricted = token_factory.headers("demo:create", password_change_required=True)
    r = await client.post("/widgets", json=body, headers=restricted)
    assert r.status_code == 403 and r.json()["code"] == "password_change_required"
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_health_metrics_and_correlation(client) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    r = await client.get("/metrics", headers={"X-Correlation-ID": "abc-123"})
    assert r.headers["x-correlation-id"] == "abc-123"
    assert "caisse_http_request_duration_seconds" in r.text


async def test_commit_failure_is_reported_not_acknowledged(
    database: Database, token_factory, kafka_bootstrap
) -> None:  # type: ignore[no-untyped-def]
    """The session dependency commits before the response is sent: a failing commit is a 5xx."""
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    class Widget(Base):
        __table__ = widgets

    router = APIRouter()
    Session = Annotated[AsyncSession, Depends(database.session_dependency, scope="function")]

    @router.post("/dup", status_code=201)
    async def dup(session: Session) -> dict[str, str]:
        session.add(Widget(id="same", amount=1))  # flushed only at commit
        return {"status": "created"}

    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    app = create_service_app(
        settings=settings,
        database=database,
        routers=[router],
        title="t",
        verifier=token_factory.verifier(),
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.post("/dup")).status_code == 201
        second = await c.post("/dup")
    assert second.status_code == 500
    assert await count(database) == 1


async def test_action_chooses_its_status_and_replay_keeps_it(database: Database) -> None:
    from caisse_shared.http.idempotency import Outcome

    calls = []

    async def action() -> Outcome:
        calls.append(1)
        return Outcome(200, {"existing": True})

    for expected_replay in (False, True):
        async with database.unit_of_work() as session:
            result = await run_idempotent(
                session, scope="s", key="same", request_body={"a": 1}, action=action, status_code=201
            )
        assert (result.status_code, result.body, result.replayed) == (
            200,
            {"existing": True},
            expected_replay,
        )
    assert len(calls) == 1
