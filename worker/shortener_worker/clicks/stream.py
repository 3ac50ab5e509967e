"""The click stream in Redis (docs/clicks.md): its consumer group, reading, re-claiming,
acknowledging, dead-lettering and trimming. Entries are `(id, fields)` with bytes as
Redis returns them.
"""

from collections.abc import Iterable, Sequence

from redis import Redis
from redis.exceptions import ResponseError

STREAM = "clicks:stream"
GROUP = "ingest"
DEAD_LETTERS = "clicks:dead"

Entry = tuple[bytes, dict[bytes, bytes]]


def ensure_group(cache: Redis) -> None:
    """Create the consumer group (from the first entry, and the stream if need be).

    Called by every run, so ingestion resumes by itself if Redis lost its data.
    """
    try:
        cache.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if not str(error).startswith("BUSYGROUP"):
            raise


def read_new(cache: Redis, consumer: str, count: int) -> list[Entry]:
    """Entries never delivered to any consumer of the group; no blocking wait."""
    reply = cache.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=count)
    return list(reply[0][1]) if reply else []


def claim_idle(
    cache: Redis, consumer: str, min_idle_ms: int, start: bytes | str, count: int
) -> tuple[bytes, list[Entry]]:
    """Take over entries pending longer than `min_idle_ms`, from `start` on.

    Returns the id to continue from (b"0-0" once the whole pending list was scanned) and
    the claimed entries. Entries deleted from the stream meanwhile are dropped from the
    pending list by Redis itself.
    """
    next_start, entries, *_deleted = cache.xautoclaim(
        STREAM, GROUP, consumer, min_idle_ms, start, count=count
    )
    return next_start, [(entry_id, fields) for entry_id, fields in entries if fields is not None]


def delivery_counts(cache: Redis, consumer: str, ids: Sequence[bytes]) -> dict[bytes, int]:
    """How often each of `ids` (pending with `consumer`) has been delivered.

    An id missing from the answer (the consumer holds other entries in that range) is
    simply retried, as if delivered less often: never dead-lettered by mistake.
    """
    if not ids:
        return {}
    pending = cache.xpending_range(
        STREAM, GROUP, min=ids[0], max=ids[-1], count=len(ids), consumername=consumer
    )
    return {item["message_id"]: item["times_delivered"] for item in pending}


def ack(cache: Redis, ids: Sequence[bytes | str]) -> None:
    if ids:
        cache.xack(STREAM, GROUP, *ids)


def dead_letter(cache: Redis, rejected: Iterable[tuple[Entry, str]]) -> int:
    """Copy each entry to the dead-letter stream with its `reason`, then ack it.

    One MULTI/EXEC: an entry is never acked without its copy, nor copied twice.
    """
    count = 0
    with cache.pipeline(transaction=True) as pipe:
        for (entry_id, fields), reason in rejected:
            pipe.xadd(DEAD_LETTERS, {**fields, b"reason": reason.encode()})
            pipe.xack(STREAM, GROUP, entry_id)
            count += 1
        if count:
            pipe.execute()
    return count


def forget_idle_consumers(cache: Redis, idle_ms: int) -> int:
    """Delete the group's consumers that hold nothing and were not heard of for `idle_ms`.

    Every worker start adds a consumer (named after the worker); this removes those of
    workers long gone. One that holds pending entries is kept: deleting it would drop
    them from the pending list, and so from re-claiming.
    """
    gone = [
        consumer["name"]
        for consumer in cache.xinfo_consumers(STREAM, GROUP)
        if consumer["pending"] == 0 and consumer["idle"] >= idle_ms
    ]
    for name in gone:
        cache.xgroup_delconsumer(STREAM, GROUP, name)
    return len(gone)


def trim(cache: Redis) -> int:
    """Delete the entries every group is done with; return how many went.

    The oldest entry still needed is, for each group, its oldest pending entry or else
    the first after the last one it was given. Reading that before trimming is safe
    against consumers running meanwhile: they only move it forward.
    """
    oldest_needed: tuple[int, int] | None = None
    for group in cache.xinfo_groups(STREAM):
        ms, seq = _parse_id(group["last-delivered-id"])
        needed = (ms, seq + 1)
        if group["pending"]:
            # None if everything was acked since: then the first undelivered one stands.
            smallest_pending = cache.xpending(STREAM, group["name"])["min"]
            if smallest_pending is not None:
                needed = _parse_id(smallest_pending)
        oldest_needed = needed if oldest_needed is None else min(oldest_needed, needed)
    if oldest_needed is None:
        return 0  # no group yet: nobody has read anything, nothing may go
    ms, seq = oldest_needed
    return cache.xtrim(STREAM, minid=f"{ms}-{seq}", approximate=False)


def _parse_id(entry_id: bytes | str) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)
