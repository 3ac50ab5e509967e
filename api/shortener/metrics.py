"""Prometheus metrics: the api's counters, and GET /metrics to read them.

The counters live in prometheus_client's default registry, at module level: one api
process per container, so one set per replica, which Prometheus adds up. nginx answers
/metrics from outside with a 404: only the backend network scrapes it.
"""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, generate_latest

CLICKS_RECORDED = Counter(
    "shortener_clicks_recorded", "Redirects appended to the click stream for the worker."
)
CLICKS_LOST = Counter(
    "shortener_clicks_lost", "Redirects that were answered but not recorded: Redis failed."
)

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
