"""JSON logs with correlation ids, Prometheus metrics and the correlation-id middleware."""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORRELATION_HEADER = "x-correlation-id"
_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

HTTP_LATENCY = Histogram(
    "caisse_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge("caisse_outbox_backlog", "Unsent outbox rows", ["service"])
OUTBOX_PUBLISHED = Counter("caisse_outbox_published_total", "Events published", ["service", "topic"])
OUTBOX_PUBLISH_ERRORS = Counter("caisse_outbox_publish_errors_total", "Relay failures", ["service"])
CONSUMER_PROCESSED = Counter(
    "caisse_consumer_events_total", "Events consumed", ["consumer", "topic", "outcome"]
)
CONSUMER_LAG = Gauge("caisse_consumer_lag", "Consumer lag (messages)", ["consumer", "topic", "partition"])
DLQ_MESSAGES = Counter("caisse_dlq_messages_total", "Messages sent to a DLQ", ["consumer", "topic"])
RETRY_MESSAGES = Counter("caisse_retry_messages_total", "Messages sent for retry", ["consumer", "topic"])


def current_correlation_id() -> str | None:
    """The correlation id of the request or message being handled, if any."""
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> Any:
    """Bind a correlation id to the current context; returns a token for reset."""
    return _correlation_id.set(value)


def reset_correlation_id(token: Any) -> None:
    """Restore the previous correlation id."""
    _correlation_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation id, extras."""

    _skip = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        cid = current_correlation_id()
        if cid:
            out["correlation_id"] = cid
        for key, value in record.__dict__.items():
            if key not in self._skip and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(service: str, level: str = "INFO", *, json_logs: bool = True) -> None:
    """Route the root logger to stdout, as JSON unless disabled for a human at a terminal."""
    handler = logging.StreamHandler(sys.stdout)
    if json_logs:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class RequestContextMiddleware:
    """Correlation id in and out (``X-Correlation-ID``), request latency metric, body size cap."""

    def __init__(self, app: ASGIApp, *, service: str, max_body_bytes: int) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        cid = headers.get(CORRELATION_HEADER) or str(uuid.uuid4())
        if len(cid) > 128:
            cid = cid[:128]
        token = set_correlation_id(cid)
        started = time.perf_counter()
        status_holder = {"status": 500}
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _too_large(send, cid, self.max_body_bytes)
            reset_correlation_id(token)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", cid.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_wrapper)
        except _BodyTooLarge:
            await _too_large(send, cid, self.max_body_bytes)
            status_holder["status"] = 413
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            HTTP_LATENCY.labels(
                self.service, scope.get("method", ""), path, str(status_holder["status"])
            ).observe(time.perf_counter() - started)
            reset_correlation_id(token)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, cid: str, limit: int) -> None:
    body = json.dumps(
        {
            "type": "https://caisse.dev/problems/payload_too_large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"request body exceeds {limit} bytes",
            "code": "payload_too_large",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-correlation-id", cid.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
