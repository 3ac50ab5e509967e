"""Per-key creation quota: a fixed one-minute window counted in Redis.

nginx limits requests per client IP; this limits links per API key, so one key cannot
fill the database however many addresses it comes from. If Redis is unreachable the
quota is not enforced (logged): creating links matters more than counting them.
"""

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shortener.problems import Problem

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


async def take_creation_quota(cache: Redis, owner_id: int, count: int, per_minute: int) -> None:
    """Count `count` new links against the key's quota; 429 when the minute is used up."""
    if per_minute == 0:
        return
    now = time.time()
    key = f"quota:create:{owner_id}:{int(now // WINDOW_SECONDS)}"
    try:
        async with cache.pipeline(transaction=True) as pipe:
            used, _ = await pipe.incrby(key, count).expire(key, 2 * WINDOW_SECONDS).execute()
    except RedisError as error:
        log.warning("creation quota not enforced", extra={"error": str(error)})
        return
    if used > per_minute:
        retry_after = WINDOW_SECONDS - int(now) % WINDOW_SECONDS
        raise Problem(
            429,
            "creation-quota-exceeded",
            f"This API key may create {per_minute} links per minute; try again later.",
            headers={"Retry-After": str(retry_after)},
        )
