"""``make run``: the whole suite on embedded PostgreSQL + Tansu (or external DATABASE_URL / Kafka)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.table import Table

from caisse_shared.infra import EmbeddedPostgres, TansuBroker, free_port, wait_for_port

app = typer.Typer(help="Run the Caisse suite locally.", no_args_is_help=True)
console = Console()


@dataclass(frozen=True)
class ServiceSpec:
    """A service the dev stack knows how to start."""

    name: str
    folder: str
    module: str
    port: int


SERVICES = (
    ServiceSpec("auth", "auth", "caisse_auth", 8001),
    ServiceSpec("bank-sync", "bank-sync", "caisse_bank_sync", 8002),
    ServiceSpec("payments", "payments", "caisse_payments", 8003),
    ServiceSpec("collection", "collection", "caisse_collection", 8004),
    ServiceSpec("profiles", "profiles", "caisse_profiles", 8005),
    ServiceSpec("movements", "movements", "caisse_movements", 8006),
)


def repo_root() -> Path:
    """The repository root (the folder holding ``services/`` and ``schemas/``)."""
    here = Path.cwd().resolve()
    for p in (here, *here.parents):
        if (p / "services").is_dir() and (p / "schemas").is_dir():
            return p
    console.print("[red]run from inside the Caisse repository[/]")
    raise typer.Exit(2)


def available(root: Path) -> list[ServiceSpec]:
    """Services present in this checkout with migrations and an importable app factory."""
    out = []
    for spec in SERVICES:
        folder = root / "services" / spec.folder
        if (folder / "alembic.ini").is_file() and importlib.util.find_spec(f"{spec.module}.main"):
            out.append(spec)
    return out


def _database(root: Path) -> tuple[str, EmbeddedPostgres | None]:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url, None
    pg = EmbeddedPostgres(root / ".data" / "pg", cleanup=True)
    with contextlib.suppress(Exception):
        pg.psql("CREATE DATABASE caisse;")  # already exists after the first run
    return pg.url_for("caisse"), pg


def _broker(root: Path) -> tuple[str, TansuBroker | None]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap:
        return bootstrap, None
    port = int(os.environ.get("CAISSE_BROKER_PORT", "9092"))
    try:
        wait_for_port("127.0.0.1", port, timeout=0.1)
        port = free_port()  # 9092 is taken by something else
    except TimeoutError:
        pass
    (root / ".data").mkdir(exist_ok=True)
    broker = TansuBroker(port=port, log_path=root / ".data" / "tansu.log").start()
    return broker.bootstrap, broker


def _migrate(root: Path, specs: list[ServiceSpec], url: str) -> None:
    from caisse_shared.migrations import upgrade

    for spec in specs:
        console.print(f"[bold]migrating[/] {spec.name}")
        upgrade(root / "services" / spec.folder, url)


def _demo_extracts(root: Path, env: dict[str, str]) -> None:
    """Give bank-sync small synthetic T24/W4/LOS extracts (made once) so a newcomer can sync at once."""
    if "CAISSE_BANK_SYNC_SOURCES" in os.environ or not importlib.util.find_spec("caisse_bank_sync"):
        return
    from caisse_bank_sync import synthetic

    base = root / ".data" / "extracts"
    for seed, source in enumerate(("T24", "W4", "LOS")):
        if not (base / source).is_dir():
            synthetic.generate(source, base / source, customers=200, loans=300, seed=seed)
    env["CAISSE_BANK_SYNC_SOURCES"] = json.dumps(
        {source: {"path": str(base / source)} for source in ("T24", "W4", "LOS")}
    )


def _start(root: Path, spec: ServiceSpec, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"{spec.module}.main:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(spec.port),
        "--no-access-log",
    ]
    return subprocess.Popen(cmd, env=env, cwd=root)


def _wait_healthy(spec: ServiceSpec, proc: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{spec.port}/health/live", timeout=1).status_code == 200:
                return True
        time.sleep(0.3)
    return False


@app.command()
def run() -> None:
    """Start PostgreSQL, the broker, migrations, and every service; Ctrl-C stops everything."""
    try:
        _run()
    except KeyboardInterrupt:  # Ctrl-C before the services were up: stopped, no traceback
        raise typer.Exit(130) from None


def _run() -> None:
    root = repo_root()
    specs = available(root)
    url, pg = _database(root)
    bootstrap, broker = _broker(root)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        _migrate(root, specs, url)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CAISSE_ENV": os.environ.get("CAISSE_ENV", "development"),
            "CAISSE_JWKS_URL": "http://127.0.0.1:8001/.well-known/jwks.json",
            "CAISSE_SCHEMAS_DIR": str(root / "schemas" / "avro"),
        }
        if broker is not None:
            env["KAFKA_ENABLE_IDEMPOTENCE"] = "false"  # Tansu rejects the idempotent producer
        _demo_extracts(root, env)
        for spec in specs:
            procs[spec.name] = _start(root, spec, env)
        table = Table(title="Caisse is running (Ctrl-C to stop)")
        for col in ("service", "API", "docs", "status"):
            table.add_column(col)
        for spec in specs:
            ok = _wait_healthy(spec, procs[spec.name])
            base = f"http://127.0.0.1:{spec.port}"
            table.add_row(spec.name, base, f"{base}/docs", "[green]up[/]" if ok else "[red]failed[/]")
        console.print(table)
        console.print(f"PostgreSQL: {url}\nKafka bootstrap: {bootstrap}")
        if "CAISSE_BANK_SYNC_SOURCES" in env:
            console.print(f"Demo extracts: {root / '.data' / 'extracts'} (POST /api/sync/run on bank-sync)")
        _wait_forever(procs)
    finally:
        _stop_all(procs)
        if broker is not None:
            broker.stop()
        if pg is not None:
            pg.stop()
        console.print("[bold]stopped[/]")


def _wait_forever(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """Until Ctrl-C, SIGTERM or a service exiting on its own (which is reported)."""
    stop = {"now": False}

    def _handler(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)  # the terminal sends SIGINT to the services too
    while not stop["now"]:
        for name, proc in procs.items():
            if proc.poll() is not None and not stop["now"]:
                console.print(f"[red]{name} exited with {proc.returncode}[/]")
                return
        time.sleep(0.2)


def _stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc in procs.values():
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@app.command()
def migrate(service: str = typer.Argument(..., help="service name, e.g. payments, or 'all'")) -> None:
    """Apply one service's migrations (or all) to DATABASE_URL (used by containers and Jobs)."""
    root = repo_root()
    url = os.environ.get("DATABASE_URL")
    if not url:
        console.print("[red]DATABASE_URL is not set[/]")
        raise typer.Exit(2)
    specs = [s for s in available(root) if service in ("all", s.name)]
    if not specs:
        console.print(f"[red]unknown service {service!r}[/]")
        raise typer.Exit(2)
    _migrate(root, specs, url)


@app.command()
def services() -> None:
    """List the services this checkout can start."""
    for spec in available(repo_root()):
        console.print(f"{spec.name:12} :{spec.port}  {spec.module}")


if __name__ == "__main__":
    app()
