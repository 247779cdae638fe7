"""Settings base shared by every service: environment, database, broker, auth, outbox."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "staging", "production"]

# Values that ship in code for local use only; any of them outside development refuses to start.
DEV_ONLY_SECRETS: frozenset[str] = frozenset(
    {"", "change-me", "dev-secret", "development-only-secret", "insecure", "secret", "password"}
)


class InsecureSettingsError(ValueError):
    """A development default secret was found in a non-development environment."""


def _global(name: str, prefixed: str) -> Any:
    """Accept both the service-prefixed variable and the suite-wide one (prefixed wins)."""
    return Field(validation_alias=AliasChoices(prefixed, name))


class ServiceSettings(BaseSettings):
    """Base settings: subclass per service with its own ``env_prefix`` (e.g. ``CAISSE_PAYMENTS_``)."""

    model_config = SettingsConfigDict(
        env_prefix="CAISSE_", extra="ignore", env_file=None, populate_by_name=True
    )

    service_name: ClassVar[str] = "caisse"
    db_schema: ClassVar[str] = "public"

    environment: Environment = Field(
        default="development", validation_alias=AliasChoices("CAISSE_ENV", "ENVIRONMENT")
    )
    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/caisse",
        validation_alias=AliasChoices("DATABASE_URL", "CAISSE_DATABASE_URL"),
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "CAISSE_KAFKA_BOOTSTRAP_SERVERS"),
    )
    # Idempotent producer: on for real Kafka; the embedded Tansu broker rejects it.
    kafka_enable_idempotence: bool = Field(
        default=True,
        validation_alias=AliasChoices("KAFKA_ENABLE_IDEMPOTENCE", "CAISSE_KAFKA_ENABLE_IDEMPOTENCE"),
    )
    jwks_url: str | None = Field(default=None, validation_alias=AliasChoices("CAISSE_JWKS_URL", "JWKS_URL"))
    jwt_issuer: str = Field(
        default="caisse-auth", validation_alias=AliasChoices("CAISSE_JWT_ISSUER", "JWT_ISSUER")
    )
    jwt_audience: str = Field(
        default="caisse", validation_alias=AliasChoices("CAISSE_JWT_AUDIENCE", "JWT_AUDIENCE")
    )
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("CAISSE_LOG_LEVEL", "LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=AliasChoices("CAISSE_LOG_JSON"))
    access_log: bool = Field(default=True, validation_alias=AliasChoices("CAISSE_ACCESS_LOG"))
    max_body_bytes: int = 1_048_576
    outbox_batch_size: int = 1000
    outbox_poll_interval_s: float = 0.05
    outbox_retention_hours: float = 24 * 7
    consumer_retry_delays_s: tuple[float, ...] = (1.0, 5.0, 30.0)
    run_background_workers: bool = True

    @property
    def is_development(self) -> bool:
        """True only for an explicitly development environment (the test harness says so too)."""
        # Not "test": a deployment named "test" is reachable by others and must not accept the
        # development secrets that ship in code.
        return self.environment == "development"

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> ServiceSettings:
        """Refuse to start outside development with a secret left at a development default.

        Raised inside validation, so callers see a ``pydantic.ValidationError`` whose message
        names the field. An optional secret should be ``SecretStr | None`` (``""`` counts as a
        development default).
        """
        if self.is_development:
            return self
        for name, value in self:
            if isinstance(value, SecretStr) and value.get_secret_value() in DEV_ONLY_SECRETS:
                raise InsecureSettingsError(
                    f"{name} has a development default; set a real secret for {self.environment}"
                )
        return self
