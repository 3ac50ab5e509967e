"""The links feature's counters: where each redirect lookup found its answer."""

from prometheus_client import Counter

LINK_CACHE_LOOKUPS = Counter(
    "shortener_link_cache_lookups",
    "Redirect lookups, by result: local (answered from the process's own cache, Redis not "
    "asked), hit (Redis had a link or a cached 'no such link'), miss (Postgres asked, the "
    "answer cached), error (Redis failed; Postgres asked).",
    ["result"],
)
# Bound once: the redirect path only increments (links/lookup.py).
LINK_CACHE_LOCAL = LINK_CACHE_LOOKUPS.labels("local")
LINK_CACHE_HIT = LINK_CACHE_LOOKUPS.labels("hit")
LINK_CACHE_MISS = LINK_CACHE_LOOKUPS.labels("miss")
LINK_CACHE_ERROR = LINK_CACHE_LOOKUPS.labels("error")
