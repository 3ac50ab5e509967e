"""The webhook sender's configuration (the `webhooks` service), from the environment at
start: the worker's conventions (secrets as `*_FILE`, a bad setting names its variable).
It needs the database only: no Redis, so none of its secrets."""

from ipaddress import IPv4Network, IPv6Network, ip_network
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator

from shortener_worker.settings import DatabaseSettings, configuration_error


class WebhookSettings(DatabaseSettings):
    # A receiver's whole answer, connection included, within this.
    webhook_timeout_seconds: float = Field(5.0, gt=0, le=30)
    # Deliveries sent at once; a receiver that hangs holds one of them, never the others.
    webhook_concurrency: int = Field(4, ge=1, le=64)
    # A delivery's attempts before it is failed for good (about 11 hours at the defaults).
    webhook_max_attempts: int = Field(12, ge=1, le=100)
    # A webhook is disabled after this many failed deliveries in a row.
    webhook_disable_after: int = Field(20, ge=1)
    # Between attempts: base * 2^(attempt - 1), jittered, at most the cap.
    webhook_backoff_base_seconds: float = Field(10.0, gt=0)
    webhook_backoff_cap_seconds: float = Field(3600.0, gt=0)
    # Networks a receiver may be in though private (comma-separated CIDRs): empty by
    # default. An operator's deliberate choice (a receiver on the same private network),
    # and the tests' (their receiver is a container). docs/events.md, "SSRF".
    webhook_allowed_networks: str = ""
    # The shortener's own names: never a receiver (PUBLIC_BASE_URL's host and others).
    public_base_url: str = ""
    webhook_refused_hosts: str = ""
    # How often the outbox is read when it had nothing due.
    webhook_poll_seconds: float = Field(1.0, gt=0, le=60)
    metrics_port: int = Field(9101, ge=0, lt=65536)
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not a network (CIDR, e.g. 172.30.0.0/16)") from None
        return value

    @property
    def allowed_networks(self) -> list[IPv4Network | IPv6Network]:
        parts = (part.strip() for part in self.webhook_allowed_networks.split(","))
        return [ip_network(part, strict=False) for part in parts if part]

    @property
    def refused_hosts(self) -> list[str]:
        listed = [h.strip().lower() for h in self.webhook_refused_hosts.split(",") if h.strip()]
        own = urlsplit(self.public_base_url).hostname
        return [own, *listed] if own else listed


def load_webhook_settings(**overrides: object) -> WebhookSettings:
    try:
        return WebhookSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise configuration_error(error) from None
