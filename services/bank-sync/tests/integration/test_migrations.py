"""Migration 0003: jobs and errors recorded with server paths name files relative to the folder."""

from __future__ import annotations

import json
import uuid

from caisse_shared.db import async_url
from caisse_shared.migrations import upgrade_async
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from .helpers import SERVICE_DIR

FOLDER = "/srv/caisse/extracts/T24"


async def test_recorded_server_paths_become_file_names(pg) -> None:
    url = await pg.create_database("bank_sync_0003")
    await upgrade_async(SERVICE_DIR, url, "0002")
    ok, failed = uuid.uuid4(), uuid.uuid4()
    details = {
        "entities": [
            {"entity": "customer", "file": f"{FOLDER}/CUSTOMER.csv", "processed": 3},
            {"entity": "loan", "file": "https://w4.example/api/loan", "processed": 1},
        ],
        "integrity_errors": 0,
    }
    missing = f"ExtractError: {FOLDER}/AA.ARRANGEMENT.csv not found"
    unreadable = f"IsADirectoryError: [Errno 21] Is a directory: '{FOLDER}/CUSTOMER.csv'"
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO bank_sync.sync_job (id, source_system, mode, status, trigger, details,"
                    " error_message) VALUES"
                    " (:ok, 'T24', 'FULL', 'COMPLETED', 'API', CAST(:d AS jsonb), NULL),"
                    " (:failed, 'T24', 'FULL', 'FAILED', 'API', '{}', :m)"
                ),
                {"ok": ok, "d": json.dumps(details), "failed": failed, "m": missing},
            )
            await conn.execute(
                text(
                    "INSERT INTO bank_sync.sync_error (job_id, source_system, kind, file, line, reason)"
                    " VALUES (:j, 'T24', :k, :f, :l, :r)"
                ),
                [
                    {
                        "j": ok,
                        "k": "VALIDATION",
                        "f": f"{FOLDER}/CUSTOMER.csv",
                        "l": 4,
                        "r": "expected 9 fields, got 2",
                    },
                    {
                        "j": ok,
                        "k": "VALIDATION",
                        "f": "https://w4.example/api/loan",
                        "l": 2,
                        "r": "invalid record",
                    },
                    {"j": failed, "k": "FATAL", "f": None, "l": None, "r": unreadable},
                ],
            )
        await upgrade_async(SERVICE_DIR, url)
        async with engine.connect() as conn:
            job = (
                await conn.execute(text("SELECT details FROM bank_sync.sync_job WHERE id = :i"), {"i": ok})
            ).scalar()
            message = (
                await conn.execute(
                    text("SELECT error_message FROM bank_sync.sync_job WHERE id = :i"), {"i": failed}
                )
            ).scalar()
            errors = (
                await conn.execute(text("SELECT file, reason FROM bank_sync.sync_error ORDER BY id"))
            ).all()
    finally:
        await engine.dispose()
    assert [e["file"] for e in job["entities"]] == ["CUSTOMER.csv", "https://w4.example/api/loan"]
    assert job["entities"][0] == {**details["entities"][0], "file": "CUSTOMER.csv"}
    assert message == "ExtractError: AA.ARRANGEMENT.csv not found"
    assert [tuple(e) for e in errors] == [
        ("CUSTOMER.csv", "expected 9 fields, got 2"),
        ("https://w4.example/api/loan", "invalid record"),
        (None, "IsADirectoryError: [Errno 21] Is a directory: 'CUSTOMER.csv'"),
    ]
