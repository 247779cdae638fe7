"""Webhook ingestion throughput of the payments service vs a trivial one-insert endpoint.

Embedded PostgreSQL + Tansu, each app under ``uvicorn --workers 2``, 32 concurrent clients.
The headline load is a mix: 60 % loan repayments (REMBOURSEMENT_PRET to one of 10,000 loans
seeded in the loan read model: allocated under the loan's row lock, in one transaction) and
40 % tontine and savings payments (the one-statement path). The old all-unallocated load is
measured too, as an extra line. A run with any unexpected answer or exception is aborted.
``python -m bench payments [--n=4000]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from caisse_payments.domain.signature import sign
from caisse_shared.db import async_url
from caisse_shared.infra import EmbeddedPostgres, TansuBroker, free_port
from caisse_shared.migrations import upgrade_async
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench._common import RunAborted
from bench.payments_load import CpuMeter, LoadResult, Request, run_load

ROOT = Path(__file__).resolve().parents[1]
SERVICE_DIR = ROOT / "services" / "payments"
CONCURRENCY = 32
WEBHOOK = "/api/payments/webhooks/kkiapay"
OK = frozenset({200, 201})
LOANS = 10_000
REPAYMENT_SHARE = 0.6
OTHER_TYPES = ("cotisation_tontine", "depot_epargne", "adhesion_tontine")
# The read model as bank-sync's loan snapshots fill it: dues far above the repayments sent
# (2,500-25,000 XOF), a fifth of the loans with penalties, three institutions.
SEED_LOANS = f"""
INSERT INTO payments.loan (account_number, cif, currency, status, outstanding_principal,
    outstanding_interest, outstanding_penalties, institution_id, agency_id, source_occurred_at)
SELECT 'LN' || lpad(i::text, 10, '0'), 'CIF' || lpad((i / 2)::text, 8, '0'), 'XOF', 'ACTIVE',
       500000 + (i * 7919) % 4500000, 10000 + (i * 104729) % 90000,
       CASE WHEN i % 5 = 0 THEN 1000 + (i * 31) % 20000 ELSE 0 END,
       'INST-' || (1 + i % 3), 'AG-' || (1 + i % 40), now()
FROM generate_series(1, {LOANS}) AS i;
ANALYZE payments.loan;
"""


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


def _unallocated(ref: str) -> dict[str, object]:
    """A tontine contribution (no loan): the body of the benchmark's old all-unallocated load."""
    return {
        "transactionId": ref,
        "isPaymentSucces": True,
        "amount": 2_500,
        "stateData": {"transaction_type": "cotisation_tontine"},
    }


@dataclass(frozen=True, slots=True)
class Mix:
    """The webhooks of one run: transaction type and loan account (repayments) of each."""

    bodies: list[dict[str, object]]
    types: Counter[str]
    accounts: set[str]

    @classmethod
    def of(cls, refs: list[str], seed: int) -> Mix:
        """Repayments to random seeded loans (REPAYMENT_SHARE of them), the rest tontine/savings."""
        rng = random.Random(seed)
        bodies, types, accounts = [], Counter[str](), set()
        for ref in refs:
            amount = rng.randrange(1, 11) * 2_500
            state = {"transaction_type": rng.choice(OTHER_TYPES)}
            if rng.random() < REPAYMENT_SHARE:
                state = {
                    "transaction_type": "remboursement_pret",
                    "account_number": f"LN{rng.randrange(1, LOANS + 1):010d}",
                }
                accounts.add(state["account_number"])
            types[state["transaction_type"].upper()] += 1
            bodies.append(
                {"transactionId": ref, "isPaymentSucces": True, "amount": amount, "stateData": state}
            )
        return cls(bodies, types, accounts)

    @property
    def repayments(self) -> int:
        """How many are loan repayments."""
        return self.types["REMBOURSEMENT_PRET"]

    def describe(self) -> str:
        """The mix as printed."""
        kinds = ", ".join(f"{k} {v}" for k, v in self.types.most_common())
        loans = f"{len(self.accounts):,} distinct loans of {LOANS:,}"
        return f"mix: {kinds}; {self.repayments} repayments to {loans}"


def _requests(bodies: list[dict[str, object]]) -> list[Request]:
    """Signed KKiaPay-style notifications (signed up front: the client is not what we measure)."""
    out = []
    for body in bodies:
        raw = json.dumps(body).encode()
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


async def _check_stored(db: AsyncEngine, refs: list[str], expected: dict[str, int]) -> None:
    """Abort unless the payments of ``refs`` were stored in the statuses the mix implies (a 201
    for a repayment left unallocated would have measured the other path)."""
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT status, count(*) FROM payments.payment WHERE channel = 'KKIAPAY'"
                " AND provider_reference = ANY(:refs) GROUP BY status"
            ),
            {"refs": refs},
        )
        stored = {status: int(n) for status, n in rows}
    if stored != expected:
        raise RunAborted(f"payments stored as {stored}, expected {expected}")


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


async def _round(ports: tuple[int, int], n: int, run: int, meter: CpuMeter, db: AsyncEngine) -> None:
    """One measurement of each figure (fresh references, so every run ingests new payments)."""
    p_port, t_port = ports
    refs = [f"B{run}-{uuid.uuid4().hex}" for _ in range(n)]
    mix = Mix.of(refs, seed=run)
    fresh = _requests(mix.bodies)
    print(f"-- run {run} ({_load_average()})")
    print(f"   {mix.describe()}")
    trivial = await _measure(t_port, "/trivial", fresh, OK, meter, "trivial")
    print(trivial.line("trivial one-insert endpoint"), flush=True)
    ingest = await _measure(p_port, WEBHOOK, fresh, frozenset({201}), meter, "payments")
    print(ingest.line("webhook ingestion (mix, new payments)"), flush=True)
    await _check_stored(db, refs, {"ALLOCATED": mix.repayments, "RECEIVED": n - mix.repayments})
    retry = await _measure(p_port, WEBHOOK, _requests(mix.bodies), frozenset({200}), meter, "payments")
    print(retry.line("idempotent replay (mix, provider retry)"), flush=True)
    exact = await _measure(p_port, WEBHOOK, fresh, frozenset({409}), meter, "payments")
    print(exact.line("exact replay rejected (mix, 409)"), flush=True)
    old_refs = [f"U{run}-{uuid.uuid4().hex}" for _ in range(n)]
    old = await _measure(
        p_port, WEBHOOK, _requests([_unallocated(r) for r in old_refs]), frozenset({201}), meter, "payments"
    )
    print(old.line("extra: all unallocated (old headline)"), flush=True)
    await _check_stored(db, old_refs, {"RECEIVED": n})
    print(
        f"ratio ingestion (mix) / trivial: {ingest.rps / trivial.rps:.2f}   "
        f"all unallocated (old) / trivial: {old.rps / trivial.rps:.2f}   "
        f"provider retry (mix) / trivial: {retry.rps / trivial.rps:.2f}   ({_load_average()})"
    )


async def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    n = _arg(argv or [], "n", 4000)
    tmp = Path(tempfile.mkdtemp(prefix="caisse-bench-payments-"))
    pg = EmbeddedPostgres(tmp / "pg", cleanup=True)
    broker = TansuBroker().start()
    procs: list[subprocess.Popen[bytes]] = []
    db = create_async_engine(async_url(pg.url))
    try:
        await upgrade_async(SERVICE_DIR, pg.url)
        pg.psql(
            "CREATE TABLE IF NOT EXISTS bench_trivial (id bigserial primary key, ref text, amount bigint)"
        )
        pg.psql(SEED_LOANS)
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
        warm = _requests(Mix.of([f"W-{uuid.uuid4().hex}" for _ in range(300)], seed=0).bodies)
        await _measure(p_port, WEBHOOK, warm, frozenset({201}))
        await _measure(t_port, "/trivial", warm, OK)
        print(
            f"payments webhook ingestion: {n} requests, {CONCURRENCY} clients, 2 uvicorn workers, "
            f"pool {CONCURRENCY} per worker, {os.cpu_count()} CPUs; {LOANS:,} loans in the read model"
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
            await _round((p_port, t_port), n, run, meter, db)
    finally:
        await db.dispose()
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
