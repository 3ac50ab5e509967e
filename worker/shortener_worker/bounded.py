"""A scrape must answer within Prometheus' timeout, whatever the stores do.

A store whose container is gone is a name that no longer resolves, and on an internal
Docker network the resolver answers that only after about 20 s (glibc's retries; seen on
engine 20.10, tests/monitoring/test_alerts.py): no socket timeout covers a name lookup. A
scrape that waited for it would fail as a whole, and the alert that a worker is down would
fire when only the database or Redis is (docs/monitoring.md, "WorkerDown").

So each collector's read runs in a thread of its own and the scrape waits for it a bounded
time: past that the collector reports its store unreadable (`*_up 0`). A read still under
way is waited for again by the next scrape, never started twice.
"""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class BoundedRead(Generic[T]):
    """`read()` in a background thread, waited for `seconds` at most: its result, or
    TimeoutError (the read goes on, for the next call to collect)."""

    def __init__(self, read: Callable[[], T], seconds: float, name: str) -> None:
        self._read = read
        self._seconds = seconds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._running: Future[T] | None = None

    def __call__(self) -> T:
        if self._running is None or self._running.done():
            self._running = self._executor.submit(self._read)
        running = self._running
        result = running.result(timeout=self._seconds)  # TimeoutError past the budget
        self._running = None  # collected: the next call reads anew
        return result
