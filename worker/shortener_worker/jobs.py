"""The jobs this worker runs, by the names operators and tests use to enqueue them."""

from collections.abc import Callable
from typing import Any

from shortener_worker.links import purge_expired_links

JOBS: dict[str, Callable[..., Any]] = {
    "purge-expired-links": purge_expired_links,
}
