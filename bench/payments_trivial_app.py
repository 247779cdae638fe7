"""Baseline for the payments benchmark: a trivial FastAPI endpoint doing one INSERT per request."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from caisse_shared.db import create_engine
from fastapi import FastAPI, Request
from sqlalchemy import text


def create_app() -> FastAPI:
    """One POST that inserts its body's reference into a table (one transaction).

    Same engine as the payments service (pool size, idle-only ping) and the same ``gc.freeze``
    of what startup built, so the ratio compares the request paths, not the connection pools or
    a ~100 ms full collection of import-time objects landing in one run's p99.
    """
    pool_size = int(os.environ.get("CAISSE_PAYMENTS_DB_POOL_SIZE", "10"))
    engine = create_engine(os.environ["DATABASE_URL"], pool_size=pool_size, ping_idle_s=5.0)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        gc.collect()
        gc.freeze()
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/trivial")
    async def trivial(request: Request) -> dict[str, str]:
        body = await request.json()
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO bench_trivial (ref, amount) VALUES (:r, :a)"),
                {"r": body["transactionId"], "a": body["amount"]},
            )
        return {"status": "ok"}

    return app
