"""Settings: default secrets refuse to start outside development."""

from typing import ClassVar

import pytest
from caisse_shared.config import ServiceSettings
from pydantic import SecretStr, ValidationError


class DemoSettings(ServiceSettings):
    service_name: ClassVar[str] = "demo"
    webhook_secret: SecretStr = SecretStr("dev-secret")


def test_development_accepts_default_secret() -> None:
    assert DemoSettings(environment="development").webhook_secret.get_secret_value() == "dev-secret"


@pytest.mark.parametrize("env", ["test", "staging", "production"])
def test_default_secret_refused_outside_development(env: str) -> None:
    with pytest.raises(ValidationError, match="webhook_secret has a development default"):
        DemoSettings(environment=env)


def test_real_secret_accepted_in_production() -> None:
    s = DemoSettings(environment="production", webhook_secret=SecretStr("x" * 40))
    assert not s.is_development


def test_global_env_names_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/x")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    s = DemoSettings()
    assert s.database_url == "postgresql://u@db:5432/x"
    assert s.kafka_bootstrap_servers == "kafka:9092"
