"""The jobs this worker runs, by the names operators, tests and the schedule use."""

from collections.abc import Callable
from typing import Any

from shortener_worker.bulk_delete import delete_links_in_bulk
from shortener_worker.clicks.ingest import ingest_clicks
from shortener_worker.clicks.retention import purge_old_clicks
from shortener_worker.imports import import_links, resume_imports
from shortener_worker.links import prune_history, purge_expired_links

JOBS: dict[str, Callable[..., Any]] = {
    "ingest-clicks": ingest_clicks,
    "purge-expired-links": purge_expired_links,
    "purge-old-clicks": purge_old_clicks,
    "prune-history": prune_history,
    "resume-imports": resume_imports,
    # Enqueued by the api with a job id (api jobs/queue.py names it by its dotted path).
    "bulk-delete": delete_links_in_bulk,
    "import": import_links,
}
# Run when asked (with a background job's id), never on the schedule (schedule.py).
ON_DEMAND = frozenset({"bulk-delete", "import"})
