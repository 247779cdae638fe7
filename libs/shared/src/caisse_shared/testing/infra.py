"""Test infrastructure selection: env URLs, else testcontainers (Docker), else embedded servers."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from caisse_shared.db import async_url
from caisse_shared.infra import EmbeddedPostgres, TansuBroker


def docker_available() -> bool:
    """True if a Docker engine answers (then testcontainers may be used)."""
    if os.environ.get("CAISSE_TEST_NO_DOCKER"):
        return False
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


def _asyncpg_connect_args(url: str) -> dict[str, Any]:
    """asyncpg.connect keyword arguments from a SQLAlchemy URL (unix-socket host in the query string)."""
    from sqlalchemy.engine import make_url

    u = make_url(async_url(url))
    kwargs: dict[str, Any] = {
        "user": u.username or "postgres",
        "password": u.password,
        "database": u.database or "postgres",
        "port": u.port or 5432,
    }
    host = u.query.get("host") or u.host or "127.0.0.1"
    kwargs["host"] = host if isinstance(host, str) else host[0]
    return kwargs


class PostgresForTests:
    """A PostgreSQL server and a way to create isolated databases on it (clones of templates)."""

    def __init__(self) -> None:
        self._embedded: EmbeddedPostgres | None = None
        self._data_dir: Path | None = None
        self._container: Any = None
        self._templates: dict[str, str] = {}
        env_url = os.environ.get("DATABASE_URL")
        if env_url:
            self.url = async_url(env_url)
        elif docker_available():
            from testcontainers.postgres import PostgresContainer

            self._container = PostgresContainer("postgres:16-alpine", driver="asyncpg").start()
            self.url = self._container.get_connection_url()
        else:
            self._data_dir = Path(tempfile.mkdtemp(prefix="caisse-pg-"))
            self._embedded = EmbeddedPostgres(self._data_dir / "pg", cleanup=True)
            self.url = self._embedded.url

    def url_for(self, database: str) -> str:
        """The same server, another database."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).set(database=database).render_as_string(hide_password=False)

    async def admin(self, sql: str) -> None:
        """Run one statement on the maintenance database (outside any transaction)."""
        kw = _asyncpg_connect_args(self.url_for("postgres"))
        conn = await asyncpg.connect(**kw)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create_database(self, prefix: str = "t", template: str | None = None) -> str:
        """A new empty (or template-cloned) database; returns its URL."""
        name = f"{re.sub(r'[^a-z0-9_]', '_', prefix.lower())[:40]}_{uuid.uuid4().hex[:10]}"
        tmpl = f' TEMPLATE "{template}"' if template else ""
        await self.admin(f'CREATE DATABASE "{name}"{tmpl}')
        return self.url_for(name)

    async def migrated_database(self, service_dir: Path, prefix: str | None = None) -> str:
        """A fresh database with a service's migrations applied (template built once per run)."""
        from caisse_shared.migrations import upgrade_async

        key = str(service_dir)  # callers pass an absolute path (Path(__file__)...)
        if key not in self._templates:
            tmpl_url = await self.create_database(f"tmpl_{service_dir.name}")
            await upgrade_async(service_dir, tmpl_url)
            from sqlalchemy.engine import make_url

            self._templates[key] = str(make_url(tmpl_url).database)
        return await self.create_database(prefix or service_dir.name, template=self._templates[key])

    def stop(self) -> None:
        """Stop whatever this object started."""
        if self._embedded is not None:
            self._embedded.stop()
        if self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)  # a run leaves hundreds of MB otherwise
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.stop()


class BrokerForTests:
    """A Kafka-protocol broker: ``KAFKA_BOOTSTRAP_SERVERS``, else Kafka in Docker, else Tansu."""

    def __init__(self) -> None:
        self._tansu: TansuBroker | None = None
        self._container: Any = None
        env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        self.embedded = False
        if env:
            self.bootstrap = env
        elif docker_available():
            from testcontainers.kafka import KafkaContainer

            self._container = KafkaContainer().with_kraft().start()
            self.bootstrap = self._container.get_bootstrap_server()
        else:
            self._tansu = TansuBroker().start()
            self.bootstrap = self._tansu.bootstrap
            self.embedded = True

    @property
    def idempotent_producer(self) -> bool:
        """Tansu rejects aiokafka's idempotent producer; real Kafka gets it."""
        return not self.embedded

    def stop(self) -> None:
        """Stop whatever this object started."""
        if self._tansu is not None:
            self._tansu.stop()
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.stop()
