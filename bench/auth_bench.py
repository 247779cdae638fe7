"""auth: ``/api/auth/token/validate`` requests/s, local token verification/s, login/s.

In-process (httpx ASGITransport) against the app on an embedded PostgreSQL in a temp dir, with
the production argon2id parameters (m=19 MiB, t=2, p=1). Baselines measured in the same run:
``/health/live`` through the same transport (HTTP stack floor) and one bare argon2 verify.
Options: ``--n=<validate requests>`` (default 2000), ``--concurrency=<n>`` (default 16).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from caisse_auth.config import Settings
from caisse_auth.main import create_app
from caisse_auth.services.bootstrap import create_admin
from caisse_shared.http.security import TokenVerifier
from caisse_shared.infra import EmbeddedPostgres
from caisse_shared.migrations import upgrade_async

SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "auth"
PASSWORD = "Bench-Passw0rd!"


def _opt(argv: list[str], name: str, default: int) -> int:
    for a in argv:
        if a.startswith(f"--{name}="):
            return int(a.split("=", 1)[1])
    return default


async def _rate(n: int, concurrency: int, call: Callable[[int], Awaitable[Any]]) -> float:
    """Operations per second of ``n`` calls with ``concurrency`` in flight."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await call(i)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - started)


async def _run(client: httpx.AsyncClient, app: Any, n: int, conc: int) -> None:
    kit = app.state.kit
    login = await client.post("/api/auth/login", json={"username": "bench", "password": PASSWORD})
    token = login.json()["access_token"]

    async def health(_: int) -> None:
        assert (await client.get("/health/live")).status_code == 200

    async def validate(_: int) -> None:
        r = await client.post("/api/auth/token/validate", json={"token": token})
        assert r.json()["valid"] is True

    jwks = (await client.get("/.well-known/jwks.json")).json()
    verifier = TokenVerifier(issuer="caisse-auth", audience="caisse", keys=jwks["keys"])

    async def local(_: int) -> None:
        await verifier.verify(token)

    async def sign_in(_: int) -> None:
        r = await client.post("/api/auth/login", json={"username": "bench", "password": PASSWORD})
        assert r.status_code == 200, r.text

    hashed = kit.passwords.hash(PASSWORD)
    started = time.perf_counter()
    for _ in range(20):
        kit.passwords.verify(hashed, PASSWORD)
    argon_ms = (time.perf_counter() - started) / 20 * 1000

    floor = await _rate(n, conc, health)
    val = await _rate(n, conc, validate)
    loc = await _rate(n * 5, 1, local)
    logins_seq = await _rate(40, 1, sign_in)
    logins_par = await _rate(40, 4, sign_in)
    print(
        f"argon2id m={kit.settings.argon2_memory_kib} KiB t={kit.settings.argon2_time_cost} "
        f"p={kit.settings.argon2_parallelism}: {argon_ms:.1f} ms per verify "
        f"(ceiling {1000 / argon_ms:.0f} verifies/s per core)"
    )
    print(f"baseline GET /health/live:          {floor:8.0f} req/s (concurrency {conc})")
    print(
        f"POST /api/auth/token/validate:      {val:8.0f} req/s (concurrency {conc}; "
        f"{val / floor:.2f}x the HTTP floor; signature + 1 revocation query)"
    )
    print(f"local verification (shared verifier):{loc:8.0f} tokens/s (one core, no I/O)")
    print(
        f"POST /api/auth/login:               {logins_seq:8.1f} logins/s sequential, "
        f"{logins_par:.1f} logins/s with 4 in flight"
    )


async def main(argv: list[str]) -> None:
    """Start embedded PostgreSQL, migrate, run the app in-process, print the figures."""
    n, conc = _opt(argv, "n", 2000), _opt(argv, "concurrency", 16)
    tmp = Path(tempfile.mkdtemp(prefix="caisse-bench-auth-"))
    pg = EmbeddedPostgres(tmp / "pg", cleanup=True)
    try:
        await upgrade_async(SERVICE_DIR, pg.url)
        settings = Settings(
            database_url=pg.url,
            environment="development",
            run_background_workers=False,
            ip_max_attempts=10**9,
            max_failed_logins=10**9,
            log_level="WARNING",
            log_json=False,
        )
        app = create_app(settings)
        async with (
            LifespanManager(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client,
        ):
            kit = app.state.kit
            async with kit.database.unit_of_work() as session:
                await create_admin(kit, session, "bench", PASSWORD)
            await _run(client, app, n, conc)
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
