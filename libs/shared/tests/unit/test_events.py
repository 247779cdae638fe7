"""Envelope headers and the Avro registry."""

from pathlib import Path

import pytest
from caisse_shared.events.envelope import EnvelopeError, Event, parse_headers, read_envelope
from caisse_shared.events.registry import PayloadInvalid, SchemaNotFound, SchemaRegistry

FIXTURES = Path(__file__).parent.parent / "fixtures" / "avro"


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry(FIXTURES)


def test_round_trip(registry: SchemaRegistry) -> None:
    payload = {"widget_id": "w1", "amount": 10**12, "currency": "XAF", "fail": False}
    data = registry.encode("demo.WidgetCreated", 1, payload)
    assert registry.decode("demo.WidgetCreated", 1, data) == payload


def test_invalid_payloads_and_bytes(registry: SchemaRegistry) -> None:
    with pytest.raises(PayloadInvalid):
        registry.encode("demo.WidgetCreated", 1, {"widget_id": "w", "amount": 1.5})
    with pytest.raises(PayloadInvalid):
        registry.decode("demo.WidgetCreated", 1, b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")
    good = registry.encode("demo.WidgetCreated", 1, {"widget_id": "w", "amount": 1})
    with pytest.raises(PayloadInvalid, match="trailing"):
        registry.decode("demo.WidgetCreated", 1, good + b"junk")
    with pytest.raises(SchemaNotFound):
        registry.encode("demo.Unknown", 1, {})


def test_envelope_headers_round_trip() -> None:
    e = Event(
        event_type="demo.WidgetCreated",
        topic="t",
        key="k",
        payload={},
        producer="p",
        correlation_id="c",
        causation_id=None,
    )
    headers = parse_headers(e.headers())
    event_id, event_type, version, occurred = read_envelope(headers)
    assert (event_id, event_type, version, occurred) == (e.event_id, e.event_type, 1, e.occurred_at)
    assert "causation_id" not in headers


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"event_id": "nope", "event_type": "x", "occurred_at": "2026-01-01T00:00:00+00:00"},
        {
            "event_id": "6f1c2a8e-3b7d-4f0e-9a51-2c4d8e7f9b10",
            "event_type": "x",
            "occurred_at": "yesterday",
        },
    ],
)
def test_bad_envelopes(headers: dict[str, str]) -> None:
    with pytest.raises(EnvelopeError):
        read_envelope(headers)
