"""The click event as the worker reads it (docs/clicks.md), and the pure parts that make it.

What leaves the process is coarse on purpose: the referrer's host, never its path or query
(they can carry personal data); a salted hash of the visitor and the country, never the
address.
"""

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from shortener.clicks.agents import AgentParser
from shortener.request_ids import MAX_REQUEST_ID_LENGTH

# The streams of docs/clicks.md: the api appends, the worker ingests (and owns the dead
# letters: entries it could not ingest).
STREAM = "clicks:stream"
DEAD_LETTER_STREAM = "clicks:dead"
VISITOR_LENGTH = 16  # hex characters: 64 bits, plenty to count distinct visitors in a day
MAX_HOST_LENGTH = 253
REFERRER_SCHEMES = frozenset({"http", "https"})
_ASCII_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


@dataclass(frozen=True)
class ClickEvent:
    link: int  # links.id
    at: int  # Unix epoch milliseconds
    ref: str
    ua: str
    bot: bool
    visitor: str
    rid: str
    country: str = ""  # ISO 3166-1 alpha-2 (clicks/countries.py), "" unknown

    def fields(self) -> dict[str, str]:
        """The stream entry's fields, all strings, as docs/clicks.md lists them."""
        return {
            "link": str(self.link),
            "at": str(self.at),
            "ref": self.ref,
            "ua": self.ua,
            "bot": "1" if self.bot else "0",
            "visitor": self.visitor,
            "rid": self.rid,
            "country": self.country,
        }


def _normalise_host(host: str) -> str:
    host = host.removesuffix(".")
    if not host or len(host) > MAX_HOST_LENGTH:
        return ""
    if ":" in host:  # urlsplit gives an IPv6 literal without its brackets
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            return ""
    if not host.isascii():
        try:
            # UTS #46 maps what browsers map (case, fullwidth forms) before encoding.
            host = idna.encode(host, uts46=True).decode("ascii")
        except UnicodeError:  # idna.IDNAError and its subclasses
            return ""
    return host if _ASCII_HOST.fullmatch(host) else ""


def referrer_host(referer: str) -> str:
    """The host of a Referer header: lowercase, punycode, no port; "" if there is none or
    it is not an http(s) URL."""
    try:
        parts = urlsplit(referer.strip())
        host = parts.hostname  # lowercase, without userinfo and port
    except ValueError:  # unbalanced brackets, a bad IPv6 literal
        return ""
    if parts.scheme not in REFERRER_SCHEMES or not host:
        return ""
    return _normalise_host(host)


def visitor_hash(salt: str, address: str, user_agent: str) -> str:
    """Who clicked, as far as counting distinct visitors in a day needs: without the salt,
    which Redis forgets after two days, it cannot be tied back to an address."""
    # NUL between the parts, so ("1.2.3.4", "5x") and ("1.2.3.45", "x") differ: neither an
    # address nor a header value can contain one.
    material = "\0".join((salt, address, user_agent)).encode()
    return hashlib.sha256(material).hexdigest()[:VISITOR_LENGTH]


def click_event(
    link: int,
    at: int,
    headers: Mapping[str, str],
    address: str,
    salt: str,
    agents: AgentParser,
    country: str = "",
) -> ClickEvent:
    """The event for a redirect of `link` at `at` (epoch ms), from the request's headers
    (a case-insensitive mapping, as Starlette's) and client address, in `country`."""
    user_agent = headers.get("user-agent", "")
    agent = agents(user_agent)
    return ClickEvent(
        link=link,
        at=at,
        ref=referrer_host(headers.get("referer", "")),
        ua=agent.family,
        bot=agent.bot,
        visitor=visitor_hash(salt, address, user_agent),
        rid=headers.get("x-request-id", "")[:MAX_REQUEST_ID_LENGTH],
        country=country,
    )
