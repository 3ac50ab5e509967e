"""Configuration, read from the environment once, when the process starts.

Secrets never travel in environment variables: each one is a file (a Compose secret at
/run/secrets/...) named by a `*_FILE` variable. A missing or invalid setting stops startup
with a message that names the variable (see `load_settings`).
"""

import contextlib
import re
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import AnyHttpUrl, Field, PlainValidator, ValidationError, field_validator
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


# An HTTP header's name (RFC 9110 token, the usual subset).
HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


class ConfigurationError(SystemExit):
    """Raised at startup: the message names every offending environment variable."""


class DatabaseSettings(BaseSettings):
    """What any process of this service needs to reach Postgres (the migrate job: only this)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    database_host: str
    database_port: int = Field(5432, gt=0, lt=65536)
    database_name: str
    database_user: str
    database_password_file: SecretFromFile
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")


class Settings(DatabaseSettings):
    """The API server's settings."""

    database_pool_min: int = Field(1, ge=0)
    database_pool_max: int = Field(10, ge=1)
    database_timeout_seconds: float = Field(3.0, gt=0)

    redis_host: str
    redis_port: int = Field(6379, gt=0, lt=65536)
    redis_password_file: SecretFromFile
    # Short on purpose: a slow cache must not hold a redirect longer than Postgres would.
    redis_timeout_seconds: float = Field(0.25, gt=0)
    # Appending clicks happens after the reply: it may wait longer, and is never retried
    # (an append that timed out may have happened; sending it again could count it twice).
    click_append_timeout_seconds: float = Field(2.0, gt=0)

    # The address people see: short URLs are built from it, and links may not point at it.
    public_base_url: AnyHttpUrl
    # Other names this shortener answers to (comma-separated): also refused as targets.
    extra_public_hosts: str = ""
    # Optional file of hosts no link may point at (one per line; subdomains included).
    blocked_hosts_file: Path | None = None
    code_length: int = Field(7, ge=4, le=32)
    link_cache_seconds: int = Field(3600, ge=1)
    missing_link_cache_seconds: int = Field(30, ge=0)
    # Each api process keeps the answers it gave this long (links/local_cache.py). Changes
    # are announced and dropped at once; this is the bound should an announcement be lost,
    # so it may not exceed the 2 s in which an edit must reach every replica. 0: off.
    local_link_cache_seconds: float = Field(1.0, ge=0, le=2)
    # How long browsers may reuse a redirect: briefly for 302/307 (so edits and visit
    # counts stay visible), longer but bounded for 301/308.
    temporary_redirect_max_age: int = Field(90, ge=0)
    permanent_redirect_max_age: int = Field(3600, ge=0)
    # Links one API key may create per minute (0: no quota).
    creation_quota_per_minute: int = Field(6000, ge=0)

    # Webhooks (docs/events.md): how many one key may have, and the private networks a
    # receiver may be in all the same (comma-separated CIDRs; empty: none, the default).
    webhooks_per_key: int = Field(10, ge=1, le=1000)
    webhook_allowed_networks: str = ""

    # The country of each click (clicks/countries.py, docs/clicks.md "Countries"): an MMDB
    # file the operator supplies (absolute path; reloaded when replaced), and/or the header
    # a CDN in front sets (trusted only when named here). Neither: clicks have no country.
    geoip_database_file: Path | None = None
    country_header: str = ""

    http_port: int = Field(8000, gt=0, lt=65536)
    # uvicorn's line per request. nginx already logs every request with the same request
    # id and the replica that answered; writing a second line costs the api about a
    # quarter of a redirect's CPU time (docs/performance.md). Production turns it off.
    access_log: bool = True

    @property
    def short_url_prefix(self) -> str:
        return str(self.public_base_url).rstrip("/") + "/"

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not a network (CIDR, e.g. 172.30.0.0/16)") from None
        return value

    @field_validator("geoip_database_file", mode="before")
    @classmethod
    def _no_database_file(cls, value: object) -> object:
        return None if value == "" else value  # compose's `${GEOIP_DATABASE_FILE:-}`

    @field_validator("geoip_database_file")
    @classmethod
    def _database_file(cls, value: Path | None) -> Path | None:
        # A missing file is no error: it may be put there later, and is then picked up.
        if value is not None and (not value.is_absolute() or value.is_dir()):
            raise ValueError("must be the absolute path of an MMDB file, not a folder")
        return value

    @field_validator("country_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if value and not HEADER_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a header name (e.g. CF-IPCountry)")
        return value

    @property
    def allowed_webhook_networks(self) -> list[IPv4Network | IPv6Network]:
        parts = (part.strip() for part in self.webhook_allowed_networks.split(","))
        return [ip_network(part, strict=False) for part in parts if part]

    @property
    def public_hosts(self) -> list[str]:
        extra = [host.strip() for host in self.extra_public_hosts.split(",") if host.strip()]
        return [self.public_base_url.host or "", *extra]


def describe_validation_error(error: ValidationError) -> str:
    """Turn pydantic's report into one line per environment variable."""
    lines = []
    for problem in error.errors():
        variable = "_".join(str(part) for part in problem["loc"]).upper()
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            message = "is required but not set"
        lines.append(f"  {variable}: {message}")
    return "invalid configuration:\n" + "\n".join(lines)


AnySettings = TypeVar("AnySettings", bound=BaseSettings)


def load_settings(
    settings_class: type[AnySettings] = Settings,  # type: ignore[assignment]
    **overrides: object,
) -> AnySettings:
    """Build settings from the environment (overrides win); fail fast naming the variable."""
    try:
        return settings_class(**overrides)
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error)) from None
