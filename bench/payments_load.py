"""A lean HTTP/1.1 keep-alive load generator for the payments benchmark.

httpx costs several hundred microseconds of CPU per request; on a 2-core machine shared with the
servers under test that is a large share of the budget, so the benchmark measured its own client.
This generator writes pre-built request bytes on ``concurrency`` persistent connections and parses
only the status line and Content-Length of each answer (~20-40 us per request). Its own CPU time
is reported so the cost of the load generator is visible next to the figures.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from bench._common import RunAborted

Request = tuple[bytes, dict[str, str]]


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Throughput, latency percentiles (ms) and the generator's CPU per request of a run in
    which every answer was the expected one."""

    rps: float
    p50: float
    p99: float
    client_us: float

    def line(self, name: str) -> str:
        """One row of the report."""
        return (
            f"{name:<44} {self.rps:>8.0f} req/s   p50 {self.p50:>6.1f} ms   p99 {self.p99:>7.1f} ms   "
            f"client {self.client_us:>4.0f} us/req"
        )


def encode_request(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """An HTTP/1.1 keep-alive POST as raw bytes."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one response; its status code and body (Content-Length bodies only: what uvicorn
    sends)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
            break
    return status, await reader.readexactly(length) if length else b""


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def open_connections(host: str, port: int, n: int, *, gap_s: float = 0.002) -> list[Stream]:
    """Open ``n`` connections one at a time, before the clock starts.

    uvicorn's workers share one listening socket and each accepts every connection pending when
    it wakes: 32 connections opened in one burst often land 30/2 on two workers, so the figures
    measured the kernel's wake-up order. A short gap lets each connection be accepted on its own
    (where it lands is still up to the workers; the benchmark prints the split).
    """
    streams = []
    for _ in range(n):
        streams.append(await asyncio.open_connection(host, port))
        await asyncio.sleep(gap_s)
    return streams


@dataclass
class _Failures:
    """Answers other than the expected ones, and exceptions, met during a run."""

    ok: frozenset[int]
    count: int = 0
    first: str = ""
    errors: list[BaseException] = field(default_factory=list)

    def answer(self, status: int, body: bytes) -> None:
        if status not in self.ok:
            self.count += 1
            self.first = self.first or f"HTTP {status}: {body[:300].decode('utf-8', 'replace')}"

    def check(self, path: str, sent: int) -> None:
        """Abort the run if anything went wrong (no throughput from a run with errors)."""
        if self.errors:
            exc = self.errors[0]
            raise RunAborted(
                f"POST {path}: {len(self.errors)} connection(s) failed, first: {type(exc).__name__}: {exc}"
            ) from exc
        if self.count:
            raise RunAborted(
                f"POST {path}: {self.count} of {sent} answers were not {sorted(self.ok)}; first: {self.first}"
            )


async def _connection(
    stream: Stream, work: Iterator[bytes], latencies: list[float], failures: _Failures
) -> None:
    reader, writer = stream
    try:
        for raw in work:
            t0 = time.perf_counter()
            writer.write(raw)
            status, body = await _read_response(reader)
            latencies.append(time.perf_counter() - t0)
            failures.answer(status, body)
    except Exception as exc:  # recorded: the run is aborted once every connection has stopped
        failures.errors.append(exc)
    finally:
        writer.close()


async def run_load(
    host: str,
    port: int,
    path: str,
    requests: Sequence[Request],
    *,
    concurrency: int,
    ok: frozenset[int] = frozenset({200, 201}),
) -> LoadResult:
    """Send every request over ``concurrency`` keep-alive connections; rate and latency.

    Raises :class:`RunAborted` if any answer's status is not in ``ok`` or a connection failed.
    """
    work = iter([encode_request(f"{host}:{port}", path, body, headers) for body, headers in requests])
    latencies: list[float] = []
    failures = _Failures(ok)
    streams = await open_connections(host, port, concurrency)
    # A full collection of the generator's own objects took 60-90 ms: every request in flight
    # would count it as server latency. Nothing here makes cycles worth collecting mid-run.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        cpu0, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(_connection(s, work, latencies, failures) for s in streams))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    finally:
        if was_enabled:
            gc.enable()
    failures.check(path, len(requests))
    q = statistics.quantiles(latencies, n=100)
    return LoadResult(
        rps=len(latencies) / elapsed,
        p50=q[49] * 1000,
        p99=q[98] * 1000,
        client_us=cpu / len(latencies) * 1e6,
    )


class CpuMeter:
    """CPU seconds used by process trees (a root pid and its children), read from /proc.

    With the cores shared, throughput moves with the neighbours' load; CPU time per request
    does much less, and its sum over the trees says where the 2-core ceiling is.
    """

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self._tick = os.sysconf("SC_CLK_TCK")

    def _table(self) -> dict[int, tuple[int, float]]:
        """pid -> (ppid, CPU seconds); a root also counts its reaped children (exited backends)."""
        roots = set(self.roots.values())
        out: dict[int, tuple[int, float]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks = int(fields[11]) + int(fields[12])
            if int(entry) in roots:
                ticks += int(fields[13]) + int(fields[14])
            out[int(entry)] = (int(fields[1]), ticks / self._tick)
        return out

    def workers(self, name: str) -> dict[int, float]:
        """CPU seconds so far of each direct child of one tree's root (uvicorn's workers)."""
        root = self.roots[name]
        return {pid: cpu for pid, (ppid, cpu) in self._table().items() if ppid == root}

    @staticmethod
    def split(before: dict[int, float], after: dict[int, float]) -> str:
        """How the CPU of a phase fell on the workers, e.g. ``52%/48%`` (idle helpers left out)."""
        used = [u for p in sorted(after) if (u := after[p] - before.get(p, 0.0)) > 0]
        total = sum(used) or 1.0
        return "/".join(f"{u / total:.0%}" for u in used)

    def snapshot(self) -> dict[str, float]:
        """CPU seconds so far per named tree."""
        table = self._table()
        return {
            name: sum(cpu for pid, (ppid, cpu) in table.items() if root in (pid, ppid))
            for name, root in self.roots.items()
        }

    @staticmethod
    def per_request(before: dict[str, float], after: dict[str, float], n: int) -> str:
        """``name us`` per request for each tree, and their total."""
        used = {k: (after[k] - before[k]) / n * 1e6 for k in before}
        parts = [f"{k} {v:.0f}" for k, v in used.items()]
        return f"CPU us/req: {', '.join(parts)}, total {sum(used.values()):.0f}"
