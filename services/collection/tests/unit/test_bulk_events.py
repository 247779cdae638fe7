"""The bulk-write registry validates and encodes exactly as the shared one does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from caisse_collection.services import events
from caisse_shared.events.registry import PayloadInvalid, default_registry

ASSIGNED = "collection.CustomerAssigned"


def _payload(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "assignment_id": "a",
        "case_id": "c",
        "cif": "C1",
        "agent_id": "g",
        "previous_agent_id": None,
        "team_id": "t",
        "method": "AUTO",
        "reason": "automatic assignment",
        "assigned_by": "job",
        "institution_id": "SFD1",
        "assigned_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    return base | over


def test_same_bytes_for_a_valid_payload() -> None:
    p = _payload()
    assert events.registry().encode(ASSIGNED, 1, p) == default_registry().encode(ASSIGNED, 1, p)


@pytest.mark.parametrize("bad", [{"agent_id": 5}, {"team_id": 7}, {"assigned_at": "yesterday"}])
def test_same_error_for_an_invalid_payload(bad: dict[str, Any]) -> None:
    p = _payload(**bad)
    with pytest.raises(PayloadInvalid) as shared:
        default_registry().encode(ASSIGNED, 1, p)
    with pytest.raises(PayloadInvalid) as quick:
        events.registry().encode(ASSIGNED, 1, p)
    assert str(quick.value) == str(shared.value)


def test_missing_field_is_refused() -> None:
    p = _payload()
    del p["method"]
    with pytest.raises(PayloadInvalid):
        events.registry().encode(ASSIGNED, 1, p)
