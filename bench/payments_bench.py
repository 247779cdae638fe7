"""Webhook ingestion throughput of the payments service vs a trivial one-insert endpoint.

Embedded PostgreSQL + Tansu, each app under ``uvicorn --workers 2``, 32 concurrent clients.
``python -m bench payments [--n=4000]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from caisse_payments.domain.signature import sign
from caisse_shared.infra import EmbeddedPostgres, TansuBroker, free_port
from caisse_shared.migrations import upgrade_async

ROOT = Path(__file__).resolve().parents[1]
SERVICE_DIR = ROOT / "services" / "payments"
CONCURRENCY = 32


def _arg(argv: list[str], name: str, default: int) -> int:
    for a in argv:
        if a.startswith(f"--{name}="):
            return int(a.split("=", 1)[1])
    return default


def _serve(factory: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait(base: str, path: str = "/docs") -> None:
    async with httpx.AsyncClient(base_url=base, timeout=1) as c:
        for _ in range(300):
            try:
                if (await c.get(path)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(base)


def _requests(refs: list[str]) -> list[tuple[bytes, dict[str, str]]]:
    """Signed KKiaPay-style notifications (signed up front: the client is not what we measure)."""
    out = []
    for r in refs:
        raw = json.dumps(
            {
                "transactionId": r,
                "isPaymentSucces": True,
                "amount": 2_500,
                "stateData": {"transaction_type": "cotisation_tontine"},
            }
        ).encode()
        ts = str(int(time.time()))
        out.append(
            (
                raw,
                {
                    "X-Caisse-Timestamp": ts,
                    "X-Caisse-Signature": sign("dev-secret", ts, raw),
                    "Content-Type": "application/json",
                },
            )
        )
    return out


async def _load(base: str, path: str, reqs: list[tuple[bytes, dict[str, str]]]) -> dict[str, float]:
    """Fire ``reqs`` with 32 concurrent clients; rate and latency percentiles."""
    latencies: list[float] = []
    errors = 0
    it = iter(reqs)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for raw, headers in it:
            t0 = time.perf_counter()
            resp = await client.post(path, content=raw, headers=headers)
            latencies.append(time.perf_counter() - t0)
            errors += resp.status_code >= 300 and resp.status_code != 200

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / elapsed,
        "p50": q[49] * 1000,
        "p99": q[98] * 1000,
        "errors": errors,
    }


def _line(name: str, r: dict[str, float]) -> str:
    return (
        f"{name:<34} {r['rps']:>8.0f} req/s   p50 {r['p50']:>6.1f} ms   "
        f"p99 {r['p99']:>6.1f} ms   errors {int(r['errors'])}"
    )


async def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    n = _arg(argv or [], "n", 4000)
    tmp = Path(tempfile.mkdtemp(prefix="caisse-bench-payments-"))
    pg = EmbeddedPostgres(tmp / "pg", cleanup=True)
    broker = TansuBroker().start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        await upgrade_async(SERVICE_DIR, pg.url)
        pg.psql(
            "CREATE TABLE IF NOT EXISTS bench_trivial (id bigserial primary key, ref text, amount bigint)"
        )
        env = {
            "DATABASE_URL": pg.url,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "CAISSE_KAFKA_ENABLE_IDEMPOTENCE": "false",
            "CAISSE_ENV": "development",
            "CAISSE_LOG_LEVEL": "WARNING",
            "CAISSE_PAYMENTS_CONSUME_LOANS": "false",
            "CAISSE_PAYMENTS_RECONCILIATION_SCHEDULE_ENABLED": "false",
        }
        p_port, t_port = free_port(), free_port()
        procs.append(_serve("caisse_payments.main:create_app", p_port, env))
        procs.append(_serve("bench.payments_trivial_app:create_app", t_port, env))
        pay, triv = f"http://127.0.0.1:{p_port}", f"http://127.0.0.1:{t_port}"
        await _wait(pay, "/health/live")
        await _wait(triv)
        warm = _requests([f"W-{uuid.uuid4().hex}" for _ in range(200)])
        await _load(pay, "/api/payments/webhooks/kkiapay", warm)
        await _load(triv, "/trivial", warm)
        refs = [f"B-{uuid.uuid4().hex}" for _ in range(n)]
        trivial = await _load(triv, "/trivial", _requests(refs))
        ingest = await _load(pay, "/api/payments/webhooks/kkiapay", _requests(refs))
        replay = await _load(pay, "/api/payments/webhooks/kkiapay", _requests(refs))
        print(f"payments webhook ingestion: {n} requests, {CONCURRENCY} clients, 2 uvicorn workers")
        print(_line("trivial one-insert endpoint", trivial))
        print(_line("webhook ingestion (new payments)", ingest))
        print(_line("idempotent replay (duplicates)", replay))
        print(f"ratio ingestion / trivial: {ingest['rps'] / trivial['rps']:.2f}")
        print(f"ratio replay / trivial:    {replay['rps'] / trivial['rps']:.2f}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        broker.stop()
        pg.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
