"""Steady client traffic through the proxy on 127.0.0.1, recorded request by request.

A `Traffic` runs paced threads (each with its own keep-alive connection, as browsers and
API clients have) for the life of a `with` block. Every request's intended start (its slot
in the schedule), actual start, duration and outcome are kept, so a test can ask what
happened in any time window: before, during and after the fault it injected.

The schedule is fixed in advance (open loop): a slow answer does not slow the schedule, it
makes the next requests of its connection late, and each request's `late` and
`from_slot` (its latency counted from its slot, not from when it was sent) show that delay
instead of hiding it (coordinated omission). A connection that fell behind either sends
its overdue requests back to back (`Flow.catch_up`, the soak) or sends the first and skips
the others, counted in `Traffic.skipped` (the fault rows: after a 30 s outage a burst of
overdue creates would meet nginx's rate limit instead of the system).

Tests keep rates under nginx's limits (nginx/includes/limits.conf: redirects 200 r/s, api
10 r/s with a burst of 20, per client address; every test client shares one address, the
bridge gateway's) so that nginx's 429s never stand in for the system's answers.
"""

import itertools
import ssl
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType

import httpx

# (client) -> response: one kind of request, e.g. "follow this short link".
Request = Callable[[httpx.Client], httpx.Response]


@dataclass(frozen=True)
class Outcome:
    kind: str
    slot: float  # time.monotonic() when the schedule meant it to start
    started: float  # time.monotonic(), when it was sent
    seconds: float
    status: int  # 0: no HTTP answer (connection error or client timeout)
    content_type: str = ""
    error: str = ""
    body: str = ""  # kept for errors only (status >= 400)

    @property
    def ended(self) -> float:
        return self.started + self.seconds

    @property
    def late(self) -> float:
        """How long after its slot it was sent: the wait for the connection's previous
        answer, or the load generator's own delay."""
        return self.started - self.slot

    @property
    def from_slot(self) -> float:
        """The latency a client arriving on schedule saw: from its slot to the answer."""
        return self.ended - self.slot


@dataclass
class Flow:
    """One kind of request at a steady rate, spread over `threads` connections."""

    kind: str
    rate: float  # requests per second, all threads together
    request: Request
    threads: int = 2
    # A connection behind its schedule sends every overdue request (True), or only the
    # first of them, skipping the others (False; counted in Traffic.skipped).
    catch_up: bool = False


@dataclass
class Traffic:
    base_url: str
    flows: Sequence[Flow]
    headers: dict[str, str] = field(default_factory=dict)
    # Long enough that no answer the system gives is cut short by the client.
    timeout: float = 35.0
    # For HTTPS: what the clients trust (tests/tls, the roots of the CA in the test).
    verify: ssl.SSLContext | bool = True
    outcomes: list[Outcome] = field(default_factory=list)
    # Slots passed over by connections that were behind (flows without catch_up), by kind.
    skipped: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> "Traffic":
        for flow in self.flows:
            interval = flow.threads / flow.rate
            for number in range(flow.threads):
                # Threads of one flow start spread over one interval: an even stream.
                offset = interval * number / flow.threads
                thread = threading.Thread(
                    target=self._run, args=(flow, interval, offset), daemon=True
                )
                thread.start()
                self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)

    def _run(self, flow: Flow, interval: float, offset: float) -> None:
        with httpx.Client(
            base_url=self.base_url,
            headers=self.headers,
            follow_redirects=False,
            timeout=self.timeout,
            verify=self.verify,
        ) as client:
            slot = time.monotonic() + offset
            while not self._stop.is_set():
                delay = slot - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                # Paced by schedule, not by answers: this slot's request goes now, late if
                # the previous answer came after the slot. Later slots already due too are
                # sent next (catch_up) or skipped and counted.
                passed = int((time.monotonic() - slot) // interval)
                if flow.catch_up or passed == 0:
                    following = slot + interval
                else:
                    following = slot + (passed + 1) * interval
                    with self._lock:
                        self.skipped[flow.kind] += passed
                self._record(flow.kind, slot, client, flow.request)
                slot = following

    def _record(self, kind: str, slot: float, client: httpx.Client, request: Request) -> None:
        started = time.monotonic()
        try:
            response = request(client)
            outcome = Outcome(
                kind,
                slot,
                started,
                time.monotonic() - started,
                response.status_code,
                response.headers.get("content-type", ""),
                body=response.text[:1000] if response.status_code >= 400 else "",
            )
        except httpx.HTTPError as error:
            outcome = Outcome(
                kind, slot, started, time.monotonic() - started, 0, error=type(error).__name__
            )
        with self._lock:
            self.outcomes.append(outcome)

    def of(self, kind: str, start: float = 0.0, end: float = float("inf")) -> list[Outcome]:
        """The outcomes of one kind of request that started within [start, end)."""
        with self._lock:
            return [o for o in self.outcomes if o.kind == kind and start <= o.started < end]


def follow(codes: Sequence[str]) -> Request:
    """GET /{code}, cycling over `codes` (never following the redirect)."""
    cycle = itertools.cycle(codes)
    lock = threading.Lock()

    def request(client: httpx.Client) -> httpx.Response:
        with lock:
            code = next(cycle)
        return client.get(f"/{code}")

    return request


def create(url: str = "https://example.org/load") -> Request:
    """POST /api/links with a new target each time (the key is in the Traffic's headers)."""
    counter = itertools.count()
    lock = threading.Lock()

    def request(client: httpx.Client) -> httpx.Response:
        with lock:
            number = next(counter)
        return client.post("/api/links", json={"url": f"{url}/{number}"})

    return request


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0.99: p99) by the inclusive method; 0 for no values."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=1000, method="inclusive")[round(fraction * 1000) - 1]


def summary(outcomes: Sequence[Outcome]) -> str:
    """For assertion messages: counts by status, the slowest answers and the latest sends."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        label = str(outcome.status) if outcome.status else outcome.error
        counts[label] = counts.get(label, 0) + 1
    slowest = sorted((round(o.seconds, 3) for o in outcomes), reverse=True)[:3]
    latest = sorted((round(o.late, 3) for o in outcomes), reverse=True)[:3]
    return (
        f"{len(outcomes)} requests, by status {counts}, slowest {slowest} s,"
        f" sent late by at most {latest} s"
    )


def wait_until(check: Callable[[], bool], timeout: float, every: float = 0.5) -> float:
    """Poll `check` until it is true; the time.monotonic() when it was. Fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return time.monotonic()
        assert time.monotonic() < deadline, f"still not true after {timeout} s"
        time.sleep(every)
