"""A user agent string -> its family ("Chrome", "Googlebot", ...) and whether it is a bot.

ua-parser with the uap-core rules (ua-parser-builtins): a bot is what uap-core puts in the
device family "Spider" (search engines, link-preview fetchers such as Slackbot, Twitterbot
or facebookexternalhit, monitors, AI crawlers). HTTP libraries and tools (curl, Python
Requests, Go-http-client, HeadlessChrome) are not bots to uap-core; their family is still
recorded, so the stats can tell them apart.

Cheap on the redirect path: the Rust engine (ua-parser-rs) reads an agent it has not seen
in 10-20 us, in time linear in its length, and ua-parser's own bounded cache answers one
it has seen in about a microsecond.
"""

from dataclasses import dataclass
from functools import cache

from ua_parser import CachingResolver, Domain, load_lazy_builtins
from ua_parser.caching import S3Fifo
from ua_parser.regex import Resolver as RustResolver

# Real agents are shorter (an in-app browser's runs to ~300 characters). Only this much is
# read, and cached: an 8 KB header of random text would otherwise cost ~8 ms per click.
MAX_AGENT_LENGTH = 512
MAX_FAMILY_LENGTH = 64  # docs/clicks.md; counted in UTF-8 bytes, as the worker does
BOT_DEVICE_FAMILY = "Spider"
UNKNOWN_FAMILY = "Other"  # uap-core's name for "no rule matched"
DOMAINS = Domain.USER_AGENT | Domain.DEVICE  # the OS is not recorded: not parsed
# Agents kept parsed per process: a few MB at most; most clicks come from far fewer agents.
CACHE_SIZE = 4096


@dataclass(frozen=True)
class Agent:
    family: str  # "" when unknown
    bot: bool


UNKNOWN_AGENT = Agent("", bot=False)


class AgentParser:
    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        # S3-FIFO, ua-parser's default bounded cache: unlike a plain LRU it keeps the
        # popular agents when a stream of one-off ones (app builds, bots) passes through.
        self._resolve = CachingResolver(RustResolver(load_lazy_builtins()), S3Fifo(cache_size))

    def __call__(self, user_agent: str) -> Agent:
        if not user_agent:
            return UNKNOWN_AGENT
        result = self._resolve(user_agent[:MAX_AGENT_LENGTH], DOMAINS)
        family = result.user_agent.family if result.user_agent else ""
        if family == UNKNOWN_FAMILY:
            family = ""
        bot = result.device is not None and result.device.family == BOT_DEVICE_FAMILY
        return Agent(truncate_utf8(family, MAX_FAMILY_LENGTH), bot)


def truncate_utf8(text: str, size: int) -> str:
    """At most `size` bytes of UTF-8, cut between characters: a family is captured from
    the header, which may hold non-ASCII, and the worker bounds the field in bytes."""
    return text.encode()[:size].decode(errors="ignore")


@cache
def agent_parser() -> AgentParser:
    """The process's parser, shared by its apps: building the rules takes ~0.1 s."""
    return AgentParser()
