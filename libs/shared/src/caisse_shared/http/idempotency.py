"""``Idempotency-Key`` for money-moving POSTs: first response stored and replayed atomically.

The key row is inserted in the request's own transaction. A concurrent duplicate blocks on the
unique index until the first transaction ends, then finds the stored response: one effect, the
same answer, and never a stored key without its effect (or the reverse).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_shared.db import session_metadata
from caisse_shared.errors import Conflict, Unprocessable
from caisse_shared.messaging.tables import idempotency_table

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        max_length=MAX_KEY_LENGTH,
        min_length=1,
        description="Client-chosen unique key; a retry with the same key and body replays "
        "the first response instead of moving money twice.",
        examples=["6f1c2a8e-3b7d-4f0e-9a51-2c4d8e7f9b10"],
    ),
]


class IdempotencyKeyReused(Unprocessable):
    """The same key was used with a different request body."""

    title, code = "Idempotency-Key reused with a different request", "idempotency_key_reused"


def fingerprint(body: Any) -> str:
    """Stable hash of a request body (canonical JSON)."""
    canonical = json.dumps(jsonable_encoder(body), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an idempotent action may return to choose its own status code (e.g. 200 vs 201)."""

    status_code: int
    body: Any


@dataclass(frozen=True, slots=True)
class IdempotentResult:
    """The response to send: either fresh or replayed."""

    status_code: int
    body: Any
    replayed: bool

    def response(self) -> JSONResponse:
        """As a JSONResponse, flagging replays."""
        headers = {REPLAY_HEADER: "true"} if self.replayed else None
        return JSONResponse(self.body, status_code=self.status_code, headers=headers)


async def run_idempotent(
    session: AsyncSession,
    *,
    scope: str,
    key: str | None,
    request_body: Any,
    action: Callable[[], Awaitable[Any]],
    status_code: int = 201,
) -> IdempotentResult:
    """Run ``action`` once per (scope, key); replay its stored JSON result on later calls."""
    if key is None:
        status_code, body = _outcome(await action(), status_code)
        return IdempotentResult(status_code, body, replayed=False)
    table = idempotency_table(session_metadata(session))
    fp = fingerprint(request_body)
    claimed = await session.execute(
        insert(table)
        .values(scope=scope, key=key, fingerprint=fp)
        .on_conflict_do_nothing()
        .returning(table.c.key)
    )
    if claimed.first() is None:
        row = (
            await session.execute(
                select(table.c.fingerprint, table.c.status_code, table.c.response_body).where(
                    table.c.scope == scope, table.c.key == key
                )
            )
        ).one()
        if row.fingerprint != fp:
            raise IdempotencyKeyReused(f"Idempotency-Key {key!r} was used with another request")
        if row.status_code is None:
            raise Conflict("a request with this Idempotency-Key is still in progress")
        return IdempotentResult(row.status_code, row.response_body, replayed=True)
    status_code, body = _outcome(await action(), status_code)
    await session.execute(
        update(table)
        .where(table.c.scope == scope, table.c.key == key)
        .values(status_code=status_code, response_body=body)
    )
    return IdempotentResult(status_code, body, replayed=False)


def _outcome(result: Any, default_status: int) -> tuple[int, Any]:
    """An action's result as (status, JSON-able body); an Outcome picks its own status."""
    if isinstance(result, Outcome):
        return result.status_code, jsonable_encoder(result.body)
    return default_status, jsonable_encoder(result)
