"""The click event: its fields as docs/clicks.md lists them, and the pure parts that make
them (referrer host, user agent family and bot flag, visitor hash)."""

import re

import pytest
from starlette.datastructures import Headers
from starlette.requests import Request

from shortener.clicks.agents import MAX_AGENT_LENGTH, agent_parser, truncate_utf8
from shortener.clicks.event import ClickEvent, click_event, referrer_host, visitor_hash
from shortener.clicks.record import ClickRecorder, utc_day
from shortener.clicks.salt import salt_key

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
SLACKBOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
FACEBOOK = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BINGBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36"
)
SALT = "a" * 64
OTHER_SALT = "b" * 64
HEX16 = re.compile(r"[0-9a-f]{16}")


# ---- referrer host --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("referer", "host"),
    [
        ("https://news.example/item?id=1#c", "news.example"),
        ("HTTPS://WWW.Example.ORG/Path", "www.example.org"),
        ("https://user:secret@example.com:8443/private/path", "example.com"),
        ("https://example.com./", "example.com"),
        ("http://1.2.3.4/x", "1.2.3.4"),
        ("http://[2001:DB8:0:0::1]:8080/x", "[2001:db8::1]"),
        ("https://bücher.example/", "xn--bcher-kva.example"),
        ("https://\uff25\uff38.com/", "ex.com"),  # fullwidth "EX", mapped as browsers do
        ("", ""),
        ("not a url", ""),
        ("//example.com/no-scheme", ""),
        ("ftp://example.com/file", ""),
        ("android-app://com.google.android.gm/", ""),
        ("https:///no-host", ""),
        ("http://[not-ipv6/", ""),
        ("https://exa mple.com/", ""),
        ("https://%65xample.com/", ""),
        ("https://a..b/", ""),
        ("https://" + "a" * 300 + ".com/", ""),
    ],
)
def test_referrer_host(referer: str, host: str) -> None:
    assert referrer_host(referer) == host


# ---- user agent -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "family", "bot"),
    [
        (CHROME, "Chrome", False),
        (SAFARI_IPHONE, "Mobile Safari", False),
        # A tool, not a crawler, to uap-core: its family is kept, so stats can tell.
        ("curl/8.5.0", "curl", False),
        (GOOGLEBOT, "Googlebot", True),
        (BINGBOT, "bingbot", True),
        # Link-preview fetchers: every short link shared in a chat meets them.
        (SLACKBOT, "Slackbot-LinkExpanding", True),
        (FACEBOOK, "FacebookBot", True),
        ("", "", False),
        ("no rule matches this", "", False),  # uap-core's "Other" is recorded as unknown
    ],
)
def test_agent_family_and_bot(user_agent: str, family: str, bot: bool) -> None:
    agent = agent_parser()(user_agent)
    assert (agent.family, agent.bot) == (family, bot)


def test_agent_repeated_is_answered_alike() -> None:
    parse = agent_parser()
    assert parse(GOOGLEBOT) == parse(GOOGLEBOT)


def test_only_the_start_of_a_huge_agent_is_read() -> None:
    agent = agent_parser()(CHROME + " " + "x" * 8000)
    assert agent.family == "Chrome"
    assert MAX_AGENT_LENGTH >= 300  # room for real agents (in-app browsers run to ~300)


def test_family_is_cut_to_64_bytes_between_characters() -> None:
    assert truncate_utf8("a" * 100, 64) == "a" * 64
    cut = truncate_utf8("é" * 40, 64)  # 2 bytes each
    assert cut == "é" * 32
    assert truncate_utf8("a" + "é" * 40, 64) == "a" + "é" * 31  # never half a character


# ---- visitor hash -----------------------------------------------------------------------


def test_visitor_hash_is_16_hex_and_stable_within_a_salt() -> None:
    first = visitor_hash(SALT, "203.0.113.7", CHROME)
    assert HEX16.fullmatch(first)
    assert visitor_hash(SALT, "203.0.113.7", CHROME) == first


def test_visitor_hash_differs_by_salt_address_and_agent() -> None:
    base = visitor_hash(SALT, "203.0.113.7", CHROME)
    assert visitor_hash(OTHER_SALT, "203.0.113.7", CHROME) != base
    assert visitor_hash(SALT, "203.0.113.8", CHROME) != base
    assert visitor_hash(SALT, "203.0.113.7", SAFARI_IPHONE) != base


def test_visitor_hash_parts_cannot_run_into_each_other() -> None:
    assert visitor_hash(SALT, "1.2.3.4", "5x") != visitor_hash(SALT, "1.2.3.45", "x")


# ---- the event --------------------------------------------------------------------------


def test_event_fields_are_the_contract() -> None:
    headers = Headers(
        {
            "user-agent": GOOGLEBOT,
            "referer": "https://News.Example/story/42?utm_source=mail&email=a@b.c",
            "x-request-id": "0123456789abcdef0123456789abcdef",
        }
    )
    event = click_event(42, 1_700_000_000_123, headers, "203.0.113.7", SALT, agent_parser(), "DE")
    fields = event.fields()
    assert list(fields) == ["link", "at", "ref", "ua", "bot", "visitor", "rid", "country"]
    assert all(isinstance(value, str) for value in fields.values())
    assert fields == {
        "link": "42",
        "at": "1700000000123",
        "ref": "news.example",
        "ua": "Googlebot",
        "bot": "1",
        "visitor": visitor_hash(SALT, "203.0.113.7", GOOGLEBOT),
        "rid": "0123456789abcdef0123456789abcdef",
        "country": "DE",
    }
    # The address appears nowhere, not even in part; the referrer's path neither.
    assert not any("203.0.113" in value or "story" in value for value in fields.values())


def test_event_without_optional_headers() -> None:
    event = click_event(7, 1_700_000_000_000, Headers({}), "", SALT, agent_parser())
    assert event == ClickEvent(
        link=7,
        at=1_700_000_000_000,
        ref="",
        ua="",
        bot=False,
        visitor=visitor_hash(SALT, "", ""),
        rid="",
    )
    assert event.fields()["bot"] == "0"


def test_request_id_is_bounded() -> None:
    headers = Headers({"x-request-id": "r" * 500})
    event = click_event(1, 1_700_000_000_000, headers, "", SALT, agent_parser())
    assert event.rid == "r" * 64


# ---- days and the recorder's choice of what to record -----------------------------------


def test_salt_day_is_the_utc_day_of_the_click() -> None:
    assert str(utc_day(1_700_000_000_000)) == "2023-11-14"  # 22:13 UTC
    assert str(utc_day(1_699_919_999_999)) == "2023-11-13"  # 23:59:59.999 UTC
    assert salt_key(utc_day(1_700_000_000_000)) == "clicks:salt:2023-11-14"


def request(method: str) -> Request:
    return Request({"type": "http", "method": method, "headers": [], "path": "/abc"})


def test_only_get_is_recorded_not_head() -> None:
    recorder = ClickRecorder(cache=None, agents=agent_parser())  # type: ignore[arg-type]
    assert recorder.after_reply(1, request("HEAD")) is None
    assert recorder.after_reply(1, request("GET")) is not None
