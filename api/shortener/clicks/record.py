"""Recording a click: one XADD to the stream the worker ingests (docs/clicks.md).

A redirect never waits for this nor fails because of it. The event is appended after the
reply has been sent (a background task of the response); when Redis fails, the click is
lost (counted and logged), not the redirect. No MAXLEN: the worker trims the stream once
it has ingested the entries.

Appends are grouped: the clicks of the redirects answered in one turn of the event loop go
to Redis in one pipeline (one round trip, one write), sent by the first of them; the
others are done once they have joined. Under load that is dozens of XADDs per round trip;
alone, a click is sent at once. The client (Backends.clicks) never retries: an XADD that
timed out may have been applied, and sending it again would count the click twice.
"""

import asyncio
import logging
import time
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.background import BackgroundTask

from shortener.clicks.agents import AgentParser
from shortener.clicks.countries import CountryLookup
from shortener.clicks.event import STREAM, click_event
from shortener.clicks.metrics import CLICKS_LOST, CLICKS_RECORDED, CLICKS_UNCONFIRMED
from shortener.clicks.salt import DailySalt

log = logging.getLogger(__name__)


def never_sent(error: RedisError) -> bool:
    """Whether a failed pipeline certainly did not reach Redis: the connection could not be
    made. Any later failure (the connection closed or reset, no answer in time) may come
    after Redis applied the commands. redis-py says which only in its message: "Timeout
    connecting to server", "Error 111 connecting to cache:6379. Connection refused."
    (tests/integration/test_click_recording.py holds it to both)."""
    return "connecting to" in str(error)


def utc_day(epoch_ms: int) -> date:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).date()


class ClickRecorder:
    def __init__(
        self, cache: Redis, agents: AgentParser, countries: CountryLookup | None = None
    ) -> None:
        self._cache = cache
        self.agents = agents  # the redirect's rules ask it too (redirects/decide.py)
        self.countries = countries or CountryLookup(None)  # readiness asks it too
        self._salt = DailySalt(cache)
        self._batch: list[dict[str, str]] = []  # events waiting for the next pipeline
        self._next_send: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()  # in flight: kept referenced, awaited

    def after_reply(self, link_id: int, request: Request) -> BackgroundTask | None:
        """The task that records this redirect once the reply is sent, for the response's
        `background`. None for HEAD: a link checker asking where a link goes is no click.
        (A POST is the unlock page's form: a visitor going on to a protected target.)"""
        if request.method == "HEAD":
            return None
        return BackgroundTask(self.record, link_id, request, time.time_ns() // 1_000_000)

    async def record(self, link_id: int, request: Request, at: int) -> None:
        # The address behind the visitor hash and the country: uvicorn's, from
        # X-Forwarded-For (proxy_headers in main.py). It goes into the hash and the country
        # lookup, in this process, and nowhere else. uvicorn trusts every hop
        # (forwarded_allow_ips="*") and so takes the header's first entry, which a client
        # can send itself; like its User-Agent, that only lets it count as other visitors.
        address = request.client.host if request.client else ""
        try:
            salt = await self._salt.for_day(utc_day(at))
        except RedisError as error:
            CLICKS_LOST.inc()
            log.warning("click not recorded", extra={"link": link_id, "error": str(error)})
            return
        # After the reply, like everything here (its cost: docs/performance.md).
        country = self.countries(request.headers, address)
        event = click_event(link_id, at, request.headers, address, salt, self.agents, country)
        self._batch.append(event.fields())
        if self._next_send is None:
            # A task of its own, started on the loop's next turn: the clicks answered
            # meanwhile join the batch, and a cancelled request cannot cancel the send.
            self._next_send = send = asyncio.create_task(self._send_batch())
            self._sends.add(send)
            send.add_done_callback(self._sends.discard)
        # Done once the click is in the stream (or lost), as with a single XADD.
        await asyncio.shield(self._next_send)

    async def close(self) -> None:
        """On shutdown: wait for the appends in flight."""
        await asyncio.gather(*self._sends, return_exceptions=True)

    async def _send_batch(self) -> None:
        batch, self._batch, self._next_send = self._batch, [], None
        try:
            async with self._cache.pipeline(transaction=False) as pipe:
                for fields in batch:
                    pipe.xadd(STREAM, fields)  # type: ignore[arg-type]
                await pipe.execute()
        except RedisError as error:
            counted, message = (
                (CLICKS_LOST, "clicks not recorded")
                if never_sent(error)
                else (CLICKS_UNCONFIRMED, "clicks unconfirmed")
            )
            counted.inc(len(batch))
            log.warning(message, extra={"count": len(batch), "error": str(error)})
            return
        CLICKS_RECORDED.inc(len(batch))


async def get_click_recorder(request: Request) -> ClickRecorder:
    return request.app.state.click_recorder


ClickRecorderDep = Annotated[ClickRecorder, Depends(get_click_recorder)]
