"""Recording a click: one XADD to the stream the worker ingests (docs/clicks.md).

A redirect never waits for this nor fails because of it. The event is appended after the
reply has been sent (a background task of the response), with the api's short Redis
timeout; when Redis fails, the click is lost (counted and logged), not the redirect. No
MAXLEN: the worker trims the stream once it has ingested the entries.
"""

import logging
import time
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.background import BackgroundTask

from shortener.clicks.agents import AgentParser
from shortener.clicks.event import click_event
from shortener.clicks.salt import DailySalt
from shortener.metrics import CLICKS_LOST, CLICKS_RECORDED

log = logging.getLogger(__name__)

STREAM = "clicks:stream"


def utc_day(epoch_ms: int) -> date:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).date()


class ClickRecorder:
    def __init__(self, cache: Redis, agents: AgentParser) -> None:
        self._cache = cache
        self._agents = agents
        self._salt = DailySalt(cache)

    def after_reply(self, link_id: int, request: Request) -> BackgroundTask | None:
        """The task that records this redirect once the reply is sent, for the response's
        `background`. None for HEAD: a link checker asking where a link goes is no click."""
        if request.method != "GET":
            return None
        return BackgroundTask(self.record, link_id, request, time.time_ns() // 1_000_000)

    async def record(self, link_id: int, request: Request, at: int) -> None:
        # The address behind the visitor hash: uvicorn's, from X-Forwarded-For (proxy_headers
        # in main.py). It goes into the hash and nowhere else. uvicorn trusts every hop
        # (forwarded_allow_ips="*") and so takes the header's first entry, which a client
        # can send itself; like its User-Agent, that only lets it count as other visitors.
        address = request.client.host if request.client else ""
        try:
            salt = await self._salt.for_day(utc_day(at))
            event = click_event(link_id, at, request.headers, address, salt, self._agents)
            await self._cache.xadd(STREAM, event.fields())
        except RedisError as error:
            CLICKS_LOST.inc()
            log.warning("click not recorded", extra={"link": link_id, "error": str(error)})
            return
        CLICKS_RECORDED.inc()


def get_click_recorder(request: Request) -> ClickRecorder:
    return request.app.state.click_recorder


ClickRecorderDep = Annotated[ClickRecorder, Depends(get_click_recorder)]
