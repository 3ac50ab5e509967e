"""What a request for a short code gets: the redirect's rules, in one place.

Both ways in (fast.py, the shortcut for links the caches know, and routes.py, the route)
ask `decide` and act on its verdict; a new rule (a password, a rule's target) is a new
case here, not a new branch in each of them.

A link's visit limit counts visits, and a visit is a person's GET that is redirected:
the same thing the stats call `visits` (docs/api.md). A HEAD asks where a link goes and a
bot (a chat's link-preview fetcher, a crawler: clicks/agents.py) fetches it for nobody,
so neither uses up a visit. They get what a person's GET would get, a redirect while a
visit is left and 410 after, with nothing counted: a preview still shows the target, and
the link's visits stay for the people it was shared with.

A password-protected link is followed only once its password is given (unlock.py): in the
`Link-Password` header, or by the unlock page's form. Until then every way in gets the
same 401 and nothing else: no Location, and no cache even holds the target (target.py).
Once unlocked, the link is decided again like any other (its visit limit applies).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cached_property

from starlette.datastructures import Headers

from shortener.clicks.agents import AgentParser
from shortener.links.target import CacheAnswer, NoTarget, Target


class Verdict(Enum):
    FOLLOW = "follow"  # redirect now; a GET is recorded as a click after the reply
    LOOK_UP = "look up"  # no cache knows the code: ask Postgres, then decide again
    COUNT_VISIT = "count the visit"  # a person's GET of a limited link: count, then follow
    CHECK_VISITS = "check visits"  # HEAD or bot on a limited link: follow if one is left
    NOT_FOUND = "not found"  # 404
    EXPIRED = "expired"  # 410
    ASK_PASSWORD = "ask for the password"  # noqa: S105 (401: protected, none given)
    UNLOCK = "unlock"  # protected and a password given: check it, then decide again


@dataclass
class Visitor:
    """Who asks: read from the request only as far as a rule needs it."""

    method: str
    headers: Headers
    agents: AgentParser
    # What the visitor offers for a protected link (redirects/unlock.py reads it).
    password: str | None = None

    @cached_property
    def is_bot(self) -> bool:
        return self.agents(self.headers.get("user-agent", "")).bot

    @property
    def uses_a_visit(self) -> bool:
        # POST: the unlock page's form, a person going on to the target.
        return self.method in ("GET", "POST") and not self.is_bot


def decide(answer: CacheAnswer, visitor: Visitor, now: datetime) -> Verdict:
    match answer:
        case NoTarget.NO_LINK:
            return Verdict.NOT_FOUND
        case NoTarget():
            return Verdict.LOOK_UP
        case Target() if answer.expired(now):
            return Verdict.EXPIRED
        case Target(protected=True):
            return Verdict.ASK_PASSWORD if visitor.password is None else Verdict.UNLOCK
        case Target(limited=True):
            return Verdict.COUNT_VISIT if visitor.uses_a_visit else Verdict.CHECK_VISITS
        case Target():
            return Verdict.FOLLOW
