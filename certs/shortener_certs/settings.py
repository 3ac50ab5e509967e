"""The keeper's configuration, read from the environment when the process starts.

The same conventions as the api and the worker: a missing or invalid setting stops
startup with a message naming the variable (docs/tls.md lists them).
"""

import re
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
# A DNS name of at least two labels: what a public CA issues for (no IP, no port).
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class CertsSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    # The name the certificate is for, served by the proxy (nginx/start.sh reads the same).
    public_host: str
    # Let's Encrypt production by default; its staging endpoint, or any ACME CA, by URL.
    acme_directory_url: str = LETS_ENCRYPT
    # Optional: the CA's account contact (Let's Encrypt no longer mails about expiry).
    acme_email: str = ""
    # Optional: a PEM file of roots to trust for the ACME server's own HTTPS (a private CA,
    # pebble in the tests); unset, the image's public roots.
    acme_ca_root_file: Path | None = None
    # Where the certificate lives (a volume shared, read-only, with the proxy) and where
    # HTTP-01 challenge files go (another, served by nginx at /.well-known/acme-challenge/).
    certificates_dir: Path = Path("/certs")
    challenges_dir: Path = Path("/acme-challenges")
    # After a failed attempt: this long, doubled on each further failure, up to the maximum.
    acme_retry_seconds: float = Field(60, gt=0)
    acme_retry_max_seconds: float = Field(3600, gt=0)
    metrics_port: int = Field(9102, ge=0, lt=65536)
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("public_host")
    @classmethod
    def _a_dns_name(cls, value: str) -> str:
        host = value.strip().lower().rstrip(".")
        if not HOSTNAME.match(host):
            raise ValueError(
                f"{value!r} is not a DNS name (like short.example.org; no scheme, port or IP)"
            )
        return host

    @field_validator("acme_directory_url")
    @classmethod
    def _an_https_url(cls, value: str) -> str:
        if not re.match(r"^https://[^/\s]+(/\S*)?$", value):
            raise ValueError(f"{value!r} is not an https:// URL (ACME requires HTTPS)")
        return value

    @field_validator("acme_ca_root_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("acme_ca_root_file")
    @classmethod
    def _a_readable_pem(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        try:
            text = value.read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(f"{value} cannot be read: {error.strerror}") from None
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ValueError(f"{value} holds no PEM certificate")
        return value

    @property
    def live_dir(self) -> Path:
        """What nginx serves: a symlink swapped to each new release at once."""
        return self.certificates_dir / "live"


class ConfigurationError(SystemExit):
    """Raised at startup: the message names every offending environment variable."""


def load_settings(**overrides: object) -> CertsSettings:
    try:
        return CertsSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            variable = "_".join(str(part) for part in problem["loc"]).upper()
            message = problem["msg"].removeprefix("Value error, ")
            if problem["type"] == "missing":
                message = "is required but not set"
            lines.append(f"  {variable}: {message}")
        raise ConfigurationError("invalid configuration:\n" + "\n".join(lines)) from None
