"""redirects/decide.py: what a request for a code gets, for every kind of answer and asker."""

from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import Headers

from shortener.clicks.agents import agent_parser
from shortener.links.target import NoTarget, Target
from shortener.redirects.decide import Verdict, Visitor, decide

NOW = datetime(2030, 1, 1, tzinfo=UTC)
PERSON = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SLACKBOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
TWITTERBOT = "Twitterbot/1.0"


def target(limited: bool = False, expires_at: datetime | None = None) -> Target:
    return Target(1, "https://e.org/", expires_at, 302, False, limited)


def visitor(method: str = "GET", user_agent: str = PERSON) -> Visitor:
    return Visitor(method, Headers({"user-agent": user_agent}), agent_parser())


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        (NoTarget.NO_LINK, Verdict.NOT_FOUND),
        (NoTarget.NOT_CACHED, Verdict.LOOK_UP),
        (NoTarget.CACHE_DOWN, Verdict.LOOK_UP),
        (target(), Verdict.FOLLOW),
        (target(expires_at=NOW + timedelta(seconds=1)), Verdict.FOLLOW),
        (target(expires_at=NOW), Verdict.EXPIRED),
        (target(limited=True, expires_at=NOW), Verdict.EXPIRED),
        (target(limited=True), Verdict.COUNT_VISIT),
    ],
)
def test_a_persons_get(answer: Target | NoTarget, verdict: Verdict) -> None:
    assert decide(answer, visitor(), NOW) is verdict


@pytest.mark.parametrize(
    "asker",
    [visitor("HEAD"), visitor(user_agent=SLACKBOT), visitor(user_agent=TWITTERBOT)],
    ids=["head", "slackbot", "twitterbot"],
)
def test_head_and_bots_never_use_up_a_visit(asker: Visitor) -> None:
    assert decide(target(limited=True), asker, NOW) is Verdict.CHECK_VISITS
    # Everything else they get as a person would.
    assert decide(target(), asker, NOW) is Verdict.FOLLOW
    assert decide(target(expires_at=NOW), asker, NOW) is Verdict.EXPIRED
    assert decide(NoTarget.NO_LINK, asker, NOW) is Verdict.NOT_FOUND


def test_tools_that_are_no_bots_to_the_stats_use_up_visits() -> None:
    # curl is recorded as a human click (clicks/agents.py): the limit counts it the same.
    assert decide(target(limited=True), visitor(user_agent="curl/8.5.0"), NOW) is (
        Verdict.COUNT_VISIT
    )


def test_the_agent_is_read_only_for_a_limited_link() -> None:
    calls: list[str] = []

    def agents(user_agent: str):  # type: ignore[no-untyped-def]
        calls.append(user_agent)
        return agent_parser()(user_agent)

    asker = Visitor("GET", Headers({"user-agent": PERSON}), agents)  # type: ignore[arg-type]
    decide(target(), asker, NOW)
    decide(NoTarget.NO_LINK, asker, NOW)
    assert calls == []
    decide(target(limited=True), asker, NOW)
    assert calls == [PERSON]


def protected(limited: bool = False, expires_at: datetime | None = None) -> Target:
    return Target(1, "", expires_at, 302, False, limited, protected=True)


@pytest.mark.parametrize(
    "asker",
    [visitor(), visitor("HEAD"), visitor("POST"), visitor(user_agent=SLACKBOT)],
    ids=["get", "head", "post", "slackbot"],
)
def test_a_protected_link_asks_everyone_for_its_password(asker: Visitor) -> None:
    assert decide(protected(), asker, NOW) is Verdict.ASK_PASSWORD
    assert decide(protected(limited=True), asker, NOW) is Verdict.ASK_PASSWORD
    # Expiry comes first: a 410 says nothing of the target.
    assert decide(protected(expires_at=NOW), asker, NOW) is Verdict.EXPIRED


def test_a_password_given_unlocks_and_the_unlocked_link_is_decided_as_any_other() -> None:
    asker = Visitor("POST", Headers({"user-agent": PERSON}), agent_parser(), password="pw")
    assert decide(protected(), asker, NOW) is Verdict.UNLOCK
    # Wrong or right is unlock.py's to say; an empty offer is an offer too.
    empty = Visitor("GET", Headers({}), agent_parser(), password="")
    assert decide(protected(), empty, NOW) is Verdict.UNLOCK
    unlocked = protected(limited=True).unlocked("https://e.org/")
    assert (unlocked.url, unlocked.protected) == ("https://e.org/", False)
    # The form's POST is a person's visit: it uses one up.
    assert decide(unlocked, asker, NOW) is Verdict.COUNT_VISIT
    assert decide(protected().unlocked("https://e.org/"), asker, NOW) is Verdict.FOLLOW


def test_a_cached_entry_of_a_protected_link_holds_no_target() -> None:
    entry = protected().encode()
    assert '"url": ""' in entry and '"protected": true' in entry
    # An entry cached by an older version (no such fields): neither protected nor indexable.
    old = '{"id": 1, "url": "https://e.org/", "expires_at": null, "redirect_type": 302, '
    old += '"forward_query": false, "limited": false}'
    assert Target.decode(old) == Target(1, "https://e.org/", None, 302, False, False)
