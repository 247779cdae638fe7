"""Webhook ingestion throughput of the payments service vs a trivial one-insert endpoint.

Embedded PostgreSQL + Tansu, each app under ``uvicorn --workers 2``, 32 concurrent clients.
``python -m bench payments [--n=4000]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
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

from bench.payments_load import CpuMeter, LoadResult, Request, run_load

ROOT = Path(__file__).resolve().parents[1]
SERVICE_DIR = ROOT / "services" / "payments"
CONCURRENCY = 32
WEBHOOK = "/api/payments/webhooks/kkiapay"
OK = frozenset({200, 201})


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


async def _wait(base: str, path: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the app answers 200 on its own path (a 404 from another app on a reused port is no)."""
    async with httpx.AsyncClient(base_url=base, timeout=1) as c:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"{base} exited with {proc.returncode}")
            try:
                if (await c.get(path)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(base)


def _requests(refs: list[str]) -> list[Request]:
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


def _load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min)"


async def _measure(
    port: int,
    path: str,
    reqs: list[Request],
    ok: frozenset[int],
    meter: CpuMeter | None = None,
    app: str = "",
) -> LoadResult:
    before = meter.snapshot() if meter else {}
    workers = meter.workers(app) if meter else {}
    result = await run_load("127.0.0.1", port, path, reqs, concurrency=CONCURRENCY, ok=ok)
    if meter:
        print(
            f"    {CpuMeter.per_request(before, meter.snapshot(), len(reqs))}, client {result.client_us:.0f}"
            f"; {app} workers' CPU split {CpuMeter.split(workers, meter.workers(app))}"
        )
    return result


async def _round(ports: tuple[int, int], n: int, run: int, meter: CpuMeter) -> None:
    """One measurement of each figure (fresh references, so every run ingests new payments)."""
    p_port, t_port = ports
    refs = [f"B{run}-{uuid.uuid4().hex}" for _ in range(n)]
    fresh = _requests(refs)
    print(f"-- run {run} ({_load_average()})")
    trivial = await _measure(t_port, "/trivial", fresh, OK, meter, "trivial")
    print(trivial.line("trivial one-insert endpoint"), flush=True)
    ingest = await _measure(p_port, WEBHOOK, fresh, frozenset({201}), meter, "payments")
    print(ingest.line("webhook ingestion (new payments)"), flush=True)
    retry = await _measure(p_port, WEBHOOK, _requests(refs), frozenset({200}), meter, "payments")
    print(retry.line("idempotent replay (provider retry)"), flush=True)
    exact = await _measure(p_port, WEBHOOK, fresh, frozenset({409}), meter, "payments")
    print(exact.line("exact replay rejected (409)"), flush=True)
    print(
        f"ratio ingestion / trivial: {ingest.rps / trivial.rps:.2f}   "
        f"provider retry / trivial: {retry.rps / trivial.rps:.2f}   ({_load_average()})"
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
            # Which worker accepts a connection is up to the kernel: one worker can hold most
            # of the 32 clients (plus its relay). A pool smaller than its requests in flight
            # churns overflow connections (closed at checkin, reopened): with 16, 236 new
            # PostgreSQL sessions per 4,000 webhooks, ~600 us/req of PostgreSQL CPU. Both apps
            # use the same value.
            "CAISSE_PAYMENTS_DB_POOL_SIZE": str(CONCURRENCY),
        }
        p_port = free_port()
        while (t_port := free_port()) == p_port:  # two probes can return the same free port
            pass
        procs.append(_serve("caisse_payments.main:create_app", p_port, env))
        procs.append(_serve("bench.payments_trivial_app:create_app", t_port, env))
        await _wait(f"http://127.0.0.1:{p_port}", "/health/live", procs[0])
        await _wait(f"http://127.0.0.1:{t_port}", "/docs", procs[1])
        warm = _requests([f"W-{uuid.uuid4().hex}" for _ in range(300)])
        await _measure(p_port, WEBHOOK, warm, frozenset({201}))
        await _measure(t_port, "/trivial", warm, OK)
        print(
            f"payments webhook ingestion: {n} requests, {CONCURRENCY} clients, 2 uvicorn workers, "
            f"pool {CONCURRENCY} per worker, {os.cpu_count()} CPUs"
        )
        postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        meter = CpuMeter(
            {
                "payments": procs[0].pid,
                "trivial": procs[1].pid,
                "postgres": postmaster,
                "broker": broker._proc.pid if broker._proc else 0,  # no public pid
            }
        )
        for run in (1, 2):
            await _round((p_port, t_port), n, run, meter)
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
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
