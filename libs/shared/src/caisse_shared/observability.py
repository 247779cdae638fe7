"""JSON logs with correlation ids, business-event log lines and the Prometheus metrics."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

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

    # uvicorn adds color_message (its message with ANSI colours) to its records: not for JSON.
    _skip = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "color_message"}

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
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # uvicorn's own lines (startup, shutdown, errors) go through the same JSON handler; its access
    # log is replaced by the request middleware's, which knows the route template and the id.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def log_event(logger: logging.Logger, event: str, /, **fields: Any) -> None:
    """One JSON line for a business event (``payment.received``…), with the correlation id."""
    logger.info(event, extra={"event": event, **fields})
