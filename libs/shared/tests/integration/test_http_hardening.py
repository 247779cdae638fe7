"""The shared app under a real uvicorn: last-resort 500, input guards, access log, documented errors."""

from __future__ import annotations

import io
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Annotated

import httpx
import pytest
from caisse_shared.config import ServiceSettings
from caisse_shared.db import Database
from caisse_shared.http.app import create_service_app
from caisse_shared.http.security import Principal, require
from caisse_shared.observability import JsonFormatter
from caisse_shared.testing.fuzz import serve
from caisse_shared.testing.tokens import TokenFactory
from fastapi import APIRouter, Depends, Path

pytestmark = pytest.mark.integration


def build_app(database: Database, tokens: TokenFactory, bootstrap: str):  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("the database said no")

    @router.get("/items/{item_id}")
    async def item(
        item_id: Annotated[str, Path(max_length=20)],
        who: Annotated[Principal, Depends(require("demo:read"))],
    ) -> dict[str, str]:
        return {"id": item_id}

    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap, database_url=str(database.engine.url))
    return create_service_app(
        settings=settings, database=database, routers=[router], title="demo", verifier=tokens.verifier()
    )


@pytest.fixture
def served(database: Database, token_factory: TokenFactory, kafka_bootstrap: str) -> Iterator[str]:
    with serve(build_app(database, token_factory, kafka_bootstrap)) as base:
        yield base


LogLines = Callable[[], list[dict[str, object]]]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """Every log record of the app so far, as the JSON lines the service would print."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("demo"))
    logging.getLogger().addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger().removeHandler(handler)


def _await_lines(
    log_lines: LogLines, wanted: Callable[[dict[str, object]], bool], timeout: float = 5.0
) -> list[dict[str, object]]:
    """The log lines ``wanted`` selects, once there is at least one (or the timeout ends)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in log_lines() if wanted(line)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def _exchange(sock: socket.socket, path: str) -> bytes:
    """One HTTP/1.1 request on an open connection; the whole response."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_unhandled_error_is_a_problem_500_and_the_connection_survives(
    served: str, log_lines: LogLines
) -> None:
    port = int(served.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        first = _exchange(sock, "/boom")
        second = _exchange(sock, "/health/live")  # same keep-alive connection
    head, _, body = first.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500")
    assert b"content-type: application/problem+json" in head.lower()
    assert b"connection: close" not in head.lower()
    cid = next(
        line.split(b": ", 1)[1]
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"x-correlation-id")
    )
    assert json.loads(body)["code"] == "internal"
    assert b"the database said no" not in body
    assert second.startswith(b"HTTP/1.1 200")
    errors = _await_lines(log_lines, lambda r: r.get("logger") == "caisse.errors")
    assert len(errors) == 1
    assert errors[0]["correlation_id"] == cid.decode()
    assert "RuntimeError: the database said no" in str(errors[0]["exc"])


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("/items/a%00b", "NUL"),
        ("/items/ab?x=%00", "NUL"),
        ("/items/%ff%fe", "UTF-8"),
        ("/items/ab?q=%ed%a0%80", "UTF-8"),
    ],
)
def test_nul_and_invalid_utf8_in_the_target_are_400(served: str, target: str, reason: str) -> None:
    r = httpx.get(served + target)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert reason in r.json()["detail"]
    assert r.headers["x-correlation-id"]


def test_ordinary_escapes_pass_and_the_access_log_names_the_route(
    served: str, token_factory: TokenFactory, log_lines: LogLines
) -> None:
    r = httpx.get(served + "/items/caf%C3%A9", headers=token_factory.headers("demo:read"))
    assert r.status_code == 200 and r.json() == {"id": "café"}
    # The access line is written once the response has gone out, by the server's own thread.
    access = _await_lines(log_lines, lambda x: x.get("logger") == "caisse.access")
    assert len(access) == 1
    line = access[0]
    assert (line["method"], line["route"], line["status"]) == ("GET", "/items/{item_id}", 200)
    assert isinstance(line["duration_ms"], float)
    assert line["correlation_id"] == r.headers["x-correlation-id"]


def test_correlation_id_is_echoed_or_refused_never_cut(served: str) -> None:
    ok = httpx.get(served + "/health/live", headers={"X-Correlation-ID": "req-42"})
    assert ok.headers["x-correlation-id"] == "req-42"
    long = httpx.get(served + "/health/live", headers={"X-Correlation-ID": "x" * 129})
    assert long.status_code == 400 and long.json()["code"] == "bad_correlation_id"


def test_docs_are_served_without_internet(served: str) -> None:
    page = httpx.get(served + "/docs").text
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page
    assert httpx.get(served + "/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    redoc = httpx.get(served + "/redoc").text
    assert "redoc.standalone.js" in redoc and "cdn." not in redoc


def test_openapi_documents_the_errors_each_operation_can_answer(served: str) -> None:
    spec = httpx.get(served + "/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    item = spec["paths"]["/items/{item_id}"]["get"]["responses"]
    assert set(item) == {"200", "400", "401", "403", "404", "422"}
    for status in ("400", "401", "403", "404", "422"):
        content = item[status]["content"]
        assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    live = spec["paths"]["/health/live"]["get"]["responses"]
    assert set(live) == {"200", "400"}
    assert "text/plain" in next(iter(spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]))
    assert set(spec["paths"]["/health/ready"]["get"]["responses"]) == {"200", "400", "503"}
