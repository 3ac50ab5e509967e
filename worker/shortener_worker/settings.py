"""The worker's configuration, read from the environment when the process starts.

The same conventions as the API (api/shortener/settings.py): secrets are files named by
`*_FILE` variables, and a missing or invalid setting stops startup naming the variable.
"""

import contextlib
from pathlib import Path
from typing import Annotated

from pydantic import Field, PlainValidator, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


def read_secret_file(path: str | Path) -> str:
    """Read a secret from a file, refusing missing or empty ones."""
    secret_path = Path(path)
    try:
        value = secret_path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ValueError(f"secret file {secret_path} does not exist") from None
    except OSError as error:
        raise ValueError(f"secret file {secret_path} cannot be read: {error.strerror}") from None
    if not value:
        raise ValueError(f"secret file {secret_path} is empty")
    return value


class SecretFile:
    """A secret in a file, read again each time a connection needs it: `make
    rotate-secrets` rewrites the file in place and the next connection uses the new value,
    with no restart (docs/security.md, "Rotating secrets"). Checked once at startup, so a
    missing or empty file still stops the process naming it. A file caught empty or
    unreadable in the middle of a rewrite gives the last value read."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._value = read_secret_file(self.path)

    def get_secret_value(self) -> str:
        with contextlib.suppress(ValueError):
            self._value = read_secret_file(self.path)
        return self._value

    def __repr__(self) -> str:  # the path, never the value
        return f"SecretFile({str(self.path)!r})"


def secret_file(value: object) -> SecretFile:
    return value if isinstance(value, SecretFile) else SecretFile(str(value))


SecretFromFile = Annotated[SecretFile, PlainValidator(secret_file)]


class DatabaseSettings(BaseSettings):
    """What any process of this image needs to reach Postgres (the webhook sender: only
    this and its own settings, webhooks/settings.py)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    database_host: str
    database_port: int = Field(5432, gt=0, lt=65536)
    database_name: str
    database_user: str
    database_password_file: SecretFromFile


class WorkerSettings(DatabaseSettings):
    redis_host: str
    redis_port: int = Field(6379, gt=0, lt=65536)
    redis_password_file: SecretFromFile

    queues: list[str] = Field(default_factory=lambda: ["default"])
    # RQ refreshes the worker's heartbeat at least every (ttl - 15) s while idle; the
    # healthcheck allows one missed beat. Short enough to notice a stuck worker quickly.
    worker_ttl_seconds: int = Field(60, ge=20)
    expired_link_grace_seconds: int = Field(7 * 24 * 3600, ge=0)
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    # Prometheus metrics (metrics.py) on this port, for the backend network; 0: none.
    metrics_port: int = Field(9100, ge=0, lt=65536)

    # Click ingestion (docs/clicks.md, "Ingestion").
    # Entries read per XREADGROUP and written per transaction.
    click_batch_size: int = Field(2000, ge=1, le=20_000)
    # How often the scheduler enqueues an ingestion run, and how long one run may drain:
    # bounded, so a warm shutdown waits for at most one budget (stop_grace_period > it).
    click_ingest_interval_seconds: int = Field(1, ge=1, le=60)
    click_ingest_budget_seconds: float = Field(20, gt=0, le=300)
    # A pending entry idle this long belongs to a consumer that died: another claims it.
    click_claim_idle_seconds: float = Field(60, ge=0)
    # An entry delivered more often than this goes to the dead-letter stream.
    click_max_deliveries: int = Field(5, ge=1)
    # Raw clicks older than this are deleted daily; the rollups keep their counts.
    click_retention_days: int = Field(90, ge=1)
    # Links' history (link_events) older than this is deleted daily (docs/events.md).
    history_retention_days: int = Field(90, ge=1)


class ConfigurationError(SystemExit):
    """Raised at startup: the message names every offending environment variable."""


def configuration_error(error: ValidationError) -> ConfigurationError:
    """pydantic's report as one line per environment variable."""
    lines = []
    for problem in error.errors():
        variable = "_".join(str(part) for part in problem["loc"]).upper()
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            message = "is required but not set"
        lines.append(f"  {variable}: {message}")
    return ConfigurationError("invalid configuration:\n" + "\n".join(lines))


def load_settings(**overrides: object) -> WorkerSettings:
    try:
        return WorkerSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise configuration_error(error) from None
