"""When a failed delivery is tried again, and when an endpoint is given up on.

The Standard Webhooks spec ("Deliverability and reliability") asks for exponential backoff
with random jitter, so receivers that failed together (an outage) are not hit again all at
the same moment, and for disabling an endpoint that keeps failing or answers 410 Gone.
"""

import random
from collections.abc import Callable

GONE = 410  # "no longer interested in receiving webhooks" (the spec's status handling)
# Doubling stops mattering long before this: 2**62 times any base is past any cap, and an
# unbounded exponent would make a huge attempt count slow to compute.
_MAX_DOUBLINGS = 62


def next_attempt_delay(
    attempts: int,
    *,
    base_seconds: float = 10,
    cap_seconds: float = 3600,
    random_fraction: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before the next attempt, after `attempts` attempts (1 or more) failed.

    The ceiling doubles with each failure (base, 2*base, 4*base...) up to `cap_seconds`;
    the delay is half the ceiling plus a random part of the other half ("equal jitter").
    Full jitter (0 to the ceiling) spreads retries more, but can retry at once after a
    failure; the fixed half keeps a floor under every wait. `random_fraction` returns a
    float in [0, 1): pass a fixed function for a deterministic delay (tests, simulations).
    """
    if attempts < 1:
        raise ValueError("attempts counts the failed attempts so far: 1 or more")
    ceiling = min(cap_seconds, base_seconds * 2 ** min(attempts - 1, _MAX_DOUBLINGS))
    return ceiling / 2 + ceiling / 2 * random_fraction()


def failures_allowed(status: int | None, limit: int) -> int:
    """Failed attempts in a row after which an endpoint is disabled, this one having got
    `status` (None: no response): one on 410 Gone, otherwise `limit`. The count itself is
    kept by the outbox (outbox.record_failed), which disables the webhook at it."""
    return 1 if status == GONE else limit
