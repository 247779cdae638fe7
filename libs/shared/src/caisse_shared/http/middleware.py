"""The outermost request middleware: correlation id, input guards, last-resort 500, access log.

It sits outside FastAPI's exception handling, so it sees every request and every answer:

- ``X-Correlation-ID`` taken from the caller (visible ASCII, at most 128 characters: anything
  else is refused, never cut) or generated, bound to the logs and returned on every answer;
- the request target is valid UTF-8 without NUL (PostgreSQL refuses NUL in text): else 400;
- the body is capped at ``max_body_bytes``: else 413;
- an exception nothing else handled becomes a problem+json 500 carrying the correlation id and
  one JSON log line with the traceback, and the connection stays usable (uvicorn closes a
  keep-alive connection, without ``Connection: close``, when the app raises);
- one access log line per request: method, route template, status, duration, correlation id.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caisse_shared.errors import PROBLEM_JSON
from caisse_shared.observability import (
    CORRELATION_HEADER,
    HTTP_LATENCY,
    reset_correlation_id,
    set_correlation_id,
)

access_log = logging.getLogger("caisse.access")
error_log = logging.getLogger("caisse.errors")
CORRELATION_ID = re.compile(r"[\x21-\x7e]{1,128}")
_CORRELATION_KEY = CORRELATION_HEADER.encode()
Refusal = tuple[int, str, str, str]  # status, title, detail, code
BAD_CORRELATION_ID: Refusal = (
    400,
    "Invalid correlation id",
    "X-Correlation-ID must be 1 to 128 visible ASCII characters",
    "bad_correlation_id",
)
INTERNAL_ERROR: Refusal = (
    500,
    "Internal error",
    "An unexpected error occurred; quote the correlation id to support",
    "internal",
)


def problem_body(status: int, title: str, detail: str, code: str, instance: str | None = None) -> bytes:
    """A problem+json body as bytes (for answers written below FastAPI)."""
    body: dict[str, Any] = {
        "type": f"https://caisse.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    return json.dumps(body).encode()


def target_problem(scope: Scope) -> str | None:
    """Why the request's path or query cannot be accepted, or None."""
    raw_path: bytes = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    query: bytes = scope.get("query_string", b"")
    for name, raw in (("path", raw_path), ("query", query)):
        if b"%" not in raw and raw.isascii() and b"\x00" not in raw:
            continue  # the common case: nothing to decode
        decoded = unquote_to_bytes(raw.replace(b"+", b" ") if name == "query" else raw)
        if b"\x00" in decoded:
            return f"the {name} contains a NUL character"
        try:
            decoded.decode("utf-8")
        except UnicodeDecodeError:
            return f"the {name} is not valid UTF-8"
    return None


class _BodyTooLarge(Exception):
    pass


class RequestContextMiddleware:
    """Correlation id, input guards, last-resort 500, latency metric and access log."""

    def __init__(
        self, app: ASGIApp, *, service: str, max_body_bytes: int, access_log_enabled: bool = True
    ) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes
        self.access_log_enabled = access_log_enabled
        detail = f"request body exceeds {max_body_bytes} bytes"
        self._too_large: Refusal = (413, "Payload too large", detail, "payload_too_large")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        supplied, declared = None, None
        for key, value in scope.get("headers", ()):
            if key == _CORRELATION_KEY:
                supplied = value.decode("latin-1")
            elif key == b"content-length":
                declared = value
        cid = supplied if supplied and CORRELATION_ID.fullmatch(supplied) else str(uuid.uuid4())
        token = set_correlation_id(cid)
        state = {"status": 500, "started": False}
        try:
            refusal = self._refusal(scope, supplied, declared)
            if refusal is not None:
                state["status"] = refusal[0]
                await _answer(send, cid, *refusal, instance=scope.get("path"))
                return
            await self._call_app(scope, receive, send, cid, state)
        finally:
            self._finish(scope, state["status"], time.perf_counter() - started)
            reset_correlation_id(token)

    def _refusal(self, scope: Scope, supplied: str | None, declared: bytes | None) -> Refusal | None:
        """A 400/413 answer for input refused before the app sees it."""
        if supplied is not None and not CORRELATION_ID.fullmatch(supplied):
            return BAD_CORRELATION_ID
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return self._too_large
        reason = target_problem(scope)
        if reason is not None:
            return 400, "Malformed request", reason, "malformed"
        return None

    async def _call_app(
        self, scope: Scope, receive: Receive, send: Send, cid: str, state: dict[str, Any]
    ) -> None:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                message["headers"] = [*message.get("headers", ()), (_CORRELATION_KEY, cid.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            if not state["started"]:
                state["status"] = 413
                await _answer(send, cid, *self._too_large)
        except Exception:
            path, method = scope.get("path"), scope.get("method")
            error_log.exception("unhandled error", extra={"path": path, "method": method})
            if not state["started"]:
                state["status"] = 500
                await _answer(send, cid, *INTERNAL_ERROR, instance=path)

    def _finish(self, scope: Scope, status: int, elapsed: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope.get("method", "")
        HTTP_LATENCY.labels(self.service, method, route, str(status)).observe(elapsed)
        if self.access_log_enabled:
            duration_ms = round(elapsed * 1000, 2)
            fields = {"method": method, "route": route, "status": status, "duration_ms": duration_ms}
            access_log.info("%s %s %s", method, route, status, extra=fields)


async def _answer(
    send: Send, cid: str, status: int, title: str, detail: str, code: str, *, instance: str | None = None
) -> None:
    body = problem_body(status, title, detail, code, instance)
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (_CORRELATION_KEY, cid.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
