"""The event envelope every Caisse message carries (as Kafka headers) around its Avro payload."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CONTENT_TYPE = "application/avro"
ENVELOPE_HEADERS = (
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "producer",
    "correlation_id",
    "causation_id",
    "content_type",
)


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Event:
    """An event to publish: its type and Avro schema version, topic, aggregate key and payload."""

    event_type: str
    topic: str
    key: str
    payload: dict[str, Any]
    schema_version: int = 1
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=utcnow)
    producer: str = ""
    correlation_id: str | None = None
    causation_id: str | None = None

    def headers(self) -> list[tuple[str, bytes]]:
        """Envelope as Kafka headers (CloudEvents-style binary mode)."""
        return envelope_headers(
            event_id=str(self.event_id),
            event_type=self.event_type,
            schema_version=self.schema_version,
            occurred_at=self.occurred_at,
            producer=self.producer,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
        )


def envelope_headers(
    *,
    event_id: str,
    event_type: str,
    schema_version: int,
    occurred_at: datetime,
    producer: str,
    correlation_id: str | None,
    causation_id: str | None,
) -> list[tuple[str, bytes]]:
    """Encode envelope fields as Kafka headers (absent optional fields are left out)."""
    pairs: list[tuple[str, str | None]] = [
        ("event_id", event_id),
        ("event_type", event_type),
        ("schema_version", str(schema_version)),
        ("occurred_at", occurred_at.isoformat()),
        ("producer", producer),
        ("correlation_id", correlation_id),
        ("causation_id", causation_id),
        ("content_type", CONTENT_TYPE),
    ]
    return [(k, v.encode()) for k, v in pairs if v is not None]


class EnvelopeError(ValueError):
    """A message lacks a valid envelope: it can never be processed (goes to the DLQ)."""


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """An event as a consumer sees it: envelope, decoded payload and its position in the log."""

    event_id: uuid.UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    producer: str
    correlation_id: str | None
    causation_id: str | None
    key: str | None
    payload: dict[str, Any]
    topic: str
    partition: int
    offset: int


def parse_headers(headers: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    """Kafka headers to a dict of str (last one wins); raises EnvelopeError on bad bytes."""
    out: dict[str, str] = {}
    for k, v in headers or ():
        try:
            out[k] = v.decode() if v is not None else ""
        except UnicodeDecodeError as exc:
            raise EnvelopeError(f"header {k!r} is not UTF-8") from exc
    return out


def read_envelope(headers: dict[str, str]) -> tuple[uuid.UUID, str, int, datetime]:
    """Validate the mandatory envelope headers: event_id, event_type, schema_version, occurred_at."""
    try:
        event_id = uuid.UUID(headers["event_id"])
        event_type = headers["event_type"]
        version = int(headers.get("schema_version", "1"))
        occurred_at = datetime.fromisoformat(headers["occurred_at"])
    except KeyError as exc:
        raise EnvelopeError(f"missing envelope header {exc.args[0]!r}") from exc
    except ValueError as exc:
        raise EnvelopeError(f"invalid envelope header: {exc}") from exc
    if not event_type:
        raise EnvelopeError("empty event_type")
    return event_id, event_type, version, occurred_at
