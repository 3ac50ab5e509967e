"""What a link may point at: each target URL is normalised, or refused, before it is stored.

The danger in a shortener is a parser differential: we check one URL and a browser follows
another. So the rules below refuse anything that Python's `urlsplit` and a browser (the
WHATWG URL standard) could read differently, and the URL we store is rebuilt from the
parts we checked, with a canonical scheme and host, so re-reading it changes nothing
(`normalise_target` is idempotent).
"""

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import idna

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# Browsers and urllib ignore leading and trailing C0 controls and spaces; strip them so
# what we check is what a browser would follow (the CVE-2023-24329 class of bypass).
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
# What comes before the query or fragment: scheme, authority and path.
_QUERY_OR_FRAGMENT = re.compile(r"[?#]")
# A host whose last label is a number is an IPv4 address to a browser ("ends in a number"
# in the WHATWG host parser): 0x7f.1 and 2130706433 both mean 127.0.0.1.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_ASCII_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
# Unicode's bidirectional controls (marks, embeddings, overrides, isolates): invisible, and
# they reorder the text around them, so "https://e.org/\u202egpj.exe" shows as ".../exe.jpg"
# wherever a target is displayed (the API's listing, a preview, a log viewer).
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


class TargetRejected(ValueError):
    """The URL cannot be a link target; the message says why (it reaches the client)."""


# ---- hosts (above TargetPolicy: the default policy in normalise_target is built at import)


def _ascii_host(host: str) -> str:
    """An ASCII host as browsers take it: lowercase; letters, digits, '-' and '_' per label.

    Looser than IDNA2008 on purpose: real hosts such as `r3---sn-x.googlevideo.com` or
    `my_service.example` resolve and open in every browser, and refusing them would refuse
    real links. Punycode labels (`xn--`) must still decode.
    """
    lowered = host.lower()
    labels = lowered.removesuffix(".").split(".")
    if len(lowered) > 254 or not all(_ASCII_LABEL.fullmatch(label) for label in labels):
        raise TargetRejected("has a malformed host")
    if any(label.startswith("xn--") for label in labels):
        try:
            idna.decode(lowered.removesuffix("."))
        except UnicodeError:
            raise TargetRejected("has a malformed host") from None
    return lowered


def _normalise_host(host: str) -> str:
    """The canonical form of a URL's host: lowercase punycode without a trailing dot, a
    dotted-quad IPv4 address, or a bracketed, compressed IPv6 address."""
    if host.startswith("["):
        try:
            # Zone ids ("%25eth0") and IPvFuture ("v1.x") are refused: browsers refuse them.
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise TargetRejected("has a malformed host") from None
        if address.scope_id is not None:
            raise TargetRejected("has a malformed host")
        return f"[{address.compressed}]"
    if host.isascii():
        ascii_host = _ascii_host(host)
    else:
        try:
            # UTS #46 maps what browsers map (case, fullwidth forms, ideographic dots)
            # before encoding; labels idna finds invalid are refused.
            ascii_host = idna.encode(host, uts46=True).decode("ascii")
        except UnicodeError:  # idna.IDNAError and its subclasses
            raise TargetRejected("has a malformed host") from None
    ascii_host = ascii_host.removesuffix(".")
    if _NUMERIC_LABEL.fullmatch(ascii_host.rpartition(".")[2]):
        # Only a plain dotted quad is taken: octal, hex and shortened forms ("010.1",
        # "0x7f.1", "2130706433") would be read as another address by a browser.
        try:
            return str(ipaddress.IPv4Address(ascii_host))
        except ValueError:
            raise TargetRejected("has a malformed host") from None
    return ascii_host


def _normalise_policy_host(host: str) -> str:
    """Normalise a host given in configuration, or raise ValueError naming it."""
    entry = host.strip()
    if ":" in entry and not entry.startswith("["):
        entry = f"[{entry}]"  # an IPv6 address written without brackets
    try:
        return _normalise_host(entry)
    except TargetRejected:
        raise ValueError(f"{host!r} is not a valid host name or IP address") from None


def _normalise_policy_hosts(hosts: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(hosts, str):  # a lone "sho.rt" would otherwise be read letter by letter
        raise TypeError(f"{what} must be a collection of host names, not one string")
    try:
        return frozenset(_normalise_policy_host(host) for host in hosts)
    except ValueError as error:
        raise ValueError(f"{what}: {error}") from None


def _host_and_parents(host: str) -> Iterable[str]:
    """a.b.example.com -> itself, b.example.com, example.com, com; an IP address: itself."""
    if host.startswith("[") or _NUMERIC_LABEL.fullmatch(host.rpartition(".")[2]):
        return (host,)
    labels = host.split(".")
    return (".".join(labels[index:]) for index in range(len(labels)))


@dataclass(frozen=True)
class TargetPolicy:
    """Hosts a target must not point at, held in normalised form.

    `own_hosts` are the shortener's own names (a link to a short link makes loops and
    hides the real target); `blocked_hosts` refuse a host and every subdomain of it.
    """

    own_hosts: frozenset[str] = frozenset()
    blocked_hosts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Normalised once here, so comparisons are plain set look-ups.
        object.__setattr__(self, "own_hosts", _normalise_policy_hosts(self.own_hosts, "own host"))
        blocked_hosts = _normalise_policy_hosts(self.blocked_hosts, "blocked host")
        object.__setattr__(self, "blocked_hosts", blocked_hosts)

    @classmethod
    def from_files(cls, own_hosts: Iterable[str], blocklist_file: Path | None) -> "TargetPolicy":
        """Build a policy from the shortener's hosts and a blocklist file (one host a line,
        `#` starts a comment); raise ValueError naming the file if it cannot be used."""
        if blocklist_file is None:
            return cls(own_hosts=frozenset(own_hosts))
        try:
            text = blocklist_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ValueError(f"blocklist file {blocklist_file} does not exist") from None
        except UnicodeDecodeError:
            raise ValueError(f"blocklist file {blocklist_file} is not UTF-8 text") from None
        except OSError as error:
            raise ValueError(
                f"blocklist file {blocklist_file} cannot be read: {error.strerror}"
            ) from None
        blocked = set()
        for number, line in enumerate(text.splitlines(), start=1):
            entry = line.partition("#")[0].strip()
            if not entry:
                continue
            try:
                blocked.add(_normalise_policy_host(entry))
            except ValueError as error:
                raise ValueError(
                    f"blocklist file {blocklist_file}, line {number}: {error}"
                ) from None
        return cls(own_hosts=frozenset(own_hosts), blocked_hosts=frozenset(blocked))

    def refusal(self, host: str) -> str | None:
        """Why a normalised host may not be a target, or None if it may."""
        if host in self.own_hosts:
            return "must not point at this shortener"
        if any(name in self.blocked_hosts for name in _host_and_parents(host)):
            return "points at a blocked host"
        return None


def normalise_target(url: str, policy: TargetPolicy = TargetPolicy()) -> str:
    """Return the URL to store for `url`, or raise TargetRejected saying what is wrong."""
    url = url.strip(_C0_AND_SPACE)
    if not url:
        raise TargetRejected("must not be empty")
    for char in url:
        if char.isspace() or _is_control(char):
            raise TargetRejected("must not contain spaces or control characters")
        if char in _BIDI_CONTROLS:
            raise TargetRejected("must not contain bidirectional control characters")
        if "\ud800" <= char <= "\udfff":
            # A lone surrogate (possible in a Python str, e.g. from a JSON escape) cannot be
            # encoded as UTF-8, so it could not be stored or sent in a Location header.
            raise TargetRejected("must be valid Unicode text")
    # Browsers read "\" as "/" in http(s) URLs, urlsplit does not: "https://a.com\@b.com/"
    # is host a.com to a browser and b.com to urlsplit. Before the query a backslash is
    # never needed (a browser turns one in the path into "/"), so refuse it there; in the
    # query and fragment both parsers keep it as data.
    if "\\" in _QUERY_OR_FRAGMENT.split(url, maxsplit=1)[0]:
        raise TargetRejected("must not contain a backslash before the query")
    try:
        parts = urlsplit(url)
    except ValueError:  # unbalanced [ ], bad IPv6, netloc that NFKC turns into delimiters
        raise TargetRejected("has a malformed host") from None
    if parts.scheme not in ALLOWED_SCHEMES:  # urlsplit lowercases the scheme
        raise TargetRejected("must be an http or https URL")
    if not parts.netloc:  # "https:/x", "https:///x": a browser would guess a host; we don't
        raise TargetRejected("must have a host")
    if "@" in parts.netloc:  # user@, user:pw@ and a bare @ alike: the host could be hidden
        raise TargetRejected("must not contain credentials")

    host, port = _split_host_and_port(parts.netloc)
    host = _normalise_host(host)
    netloc = host if port in (None, DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    if reason := policy.refusal(host):
        raise TargetRejected(reason)

    # Path, query and fragment are kept exactly as given: the text after the authority is
    # copied, not rebuilt, because urlunsplit drops an empty "?" or "#" and re-encoding
    # would change what the target server receives. `url` is exactly
    # scheme + "://" + netloc + rest here (urlsplit only strips what we already refused).
    rest = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    normalised = f"{parts.scheme}://{netloc}{rest}"
    if len(normalised) > MAX_URL_LENGTH:
        raise TargetRejected(f"must be at most {MAX_URL_LENGTH} characters")
    return normalised


def _is_control(char: str) -> bool:
    """C0 controls, DEL and C1 controls."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _split_host_and_port(netloc: str) -> tuple[str, int | None]:
    """Split an authority without userinfo into its host and port (None if absent or empty)."""
    if netloc.startswith("["):
        host, bracket, after = netloc.partition("]")
        host += bracket
        if not bracket or (after and not after.startswith(":")):
            raise TargetRejected("has a malformed host")
        port_text = after[1:] if after else None
    else:
        host, colon, port_text = netloc.partition(":")
        if not colon:
            port_text = None
    if not host:
        raise TargetRejected("must have a host")
    if not port_text:  # "host:" means the default port to a browser
        return host, None
    # Leading zeros are allowed by browsers ("0080" is 80); strip them before int() so a
    # very long run of them cannot hit int()'s digit limit.
    digits = port_text.lstrip("0") or "0"
    if not (port_text.isascii() and port_text.isdigit()) or len(digits) > 5:
        raise TargetRejected("has a malformed port (must be 1-65535)")
    port = int(digits)
    if not 1 <= port <= 65535:
        raise TargetRejected("has a malformed port (must be 1-65535)")
    return host, port
