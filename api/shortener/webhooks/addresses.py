# A copy of worker/shortener_worker/webhooks/addresses.py: the api checks a receiver when a
# webhook is made, the sender at every delivery; tests/unit/test_webhook_guard_copies.py
# keeps the two equal. Edit the worker's, then copy.
"""Where a webhook may be sent: the guard against server-side request forgery (SSRF).

A webhook URL is chosen by a customer and requested by our worker, from inside our
network. Without a guard, `http://169.254.169.254/` reads the cloud's instance metadata and
`http://db:5432/` pokes at our database. Two checks, at two moments:

- `check_url`, when a webhook is created (and again before each send): the URL's form.
  Only http and https, no credentials, a well-formed host (IDN as punycode), and not a
  name or IP literal that is ours or local.
- `resolve_allowed`, at send time: the name is resolved ONCE and refused if ANY address it
  resolves to is blocked (an answer mixing a public and a private address is refused as a
  whole). The sender then connects to one of the addresses returned here, never to the
  name, so a second DNS answer (DNS rebinding) cannot change where the request goes.

`allowed_networks` exempts the networks it lists, and only those: an operator's deliberate
choice for tests (the test receiver's Docker network) or a private deployment whose
receivers live on an internal network. It is empty in production.
"""

import ipaddress
import re
import socket
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from shortener.webhooks.blocked import IPAddress, IPNetwork, refusal, unmapped

# A name and port to the addresses they resolve to, as text ("192.0.2.7", "2001:db8::7").
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}

# Names that are local by definition, refused with every subdomain: localhost (RFC 6761),
# localdomain (the usual alias of localhost in /etc/hosts), local (mDNS, RFC 6762),
# internal (ICANN's private-use TLD, and Docker's host.docker.internal), home.arpa
# (home networks, RFC 8375). Refused by name so the mistake is caught when the webhook is
# created; the address check at send time is what refuses every other internal name.
LOCAL_DOMAINS = ("localhost", "localdomain", "local", "internal", "home.arpa")

# The four characters IDNA 2003 (Python's "idna" codec) and IDNA 2008 (browsers) encode
# differently: "straße" is "strasse" to one and "xn--strae-oqa" to the other. Refused, so
# a URL never names one host to the customer and another to us.
_IDNA_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")
_ASCII_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
# A host whose last label is a number is an IPv4 address to a resolver: getaddrinfo reads
# "2130706433" and "0x7f.1" as 127.0.0.1. Only a plain dotted quad is accepted as one.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


class AddressRefused(ValueError):
    """The URL or address may not receive webhooks; the message says why (it is shown to
    the customer, and recorded with the failed delivery)."""


@dataclass(frozen=True)
class Target:
    """A checked webhook URL, in the parts the sender needs."""

    scheme: str  # "http" or "https"
    host: str  # lowercase ASCII (punycode) name, or an IP address without brackets
    port: int  # always set: the scheme's default when the URL has none
    path: str  # what goes on the request line: path and query, at least "/"

    @property
    def host_header(self) -> str:
        """The Host header: the URL's host, and its port unless it is the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The normalised URL (no fragment: it is never sent), the form to store."""
        return f"{self.scheme}://{self.host_header}{self.path}"


def check_url(
    url: str,
    *,
    own_hosts: Collection[str] = (),
    allowed_networks: Sequence[IPNetwork] = (),
) -> Target:
    """The parts of `url` if it may receive webhooks, or AddressRefused saying why.

    `own_hosts` are the shortener's own names (a webhook to ourselves is refused);
    `allowed_networks` exempts IP literals in those networks (see the module docstring).
    """
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefused(f"the URL must be at most {MAX_URL_LENGTH} characters")
    if any(char <= " " or char == "\x7f" for char in url):
        raise AddressRefused("the URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:  # unbalanced brackets, a malformed IPv6 literal
        raise AddressRefused("the URL's host is malformed") from None
    if parts.scheme not in DEFAULT_PORTS:  # urlsplit lowercases the scheme
        raise AddressRefused("the URL must be http or https")
    if not parts.netloc:
        raise AddressRefused("the URL must have a host")
    if "@" in parts.netloc:
        raise AddressRefused("the URL must not contain credentials (user:password@)")
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    if not path.isascii():  # the request line is ASCII: percent-encoding is the client's job
        raise AddressRefused("the URL's path and query must be ASCII (percent-encoded)")

    host_text, port = _split_host_and_port(parts.netloc)
    host = _normalise_host(host_text)
    if host in {_normalise_own_host(own) for own in own_hosts}:
        raise AddressRefused("the URL must not point at this shortener")
    if _is_ip_literal(host):
        if reason := refusal(ipaddress.ip_address(host), allowed_networks):
            raise AddressRefused(f"{host} is {reason}")
    elif any(host == domain or host.endswith(f".{domain}") for domain in LOCAL_DOMAINS):
        raise AddressRefused(f"{host} is a local name")
    return Target(parts.scheme, host, port or DEFAULT_PORTS[parts.scheme], path)


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for a TCP connection to host:port."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]


def resolve_allowed(
    host: str,
    port: int,
    *,
    allowed_networks: Sequence[IPNetwork] = (),
    resolver: Resolver = system_resolver,
) -> list[IPAddress]:
    """The addresses of `host` to connect to, resolved once; AddressRefused if any is blocked.

    An IP literal is not resolved. A name that does not resolve raises the resolver's error
    (socket.gaierror for the system resolver). No timeout applies to the system resolver:
    the caller bounds the whole job.
    """
    answers = [host] if _is_ip_literal(host) else list(resolver(host, port))
    addresses: list[IPAddress] = []
    for answer in answers:
        address = unmapped(ipaddress.ip_address(answer))
        if reason := refusal(address, allowed_networks):
            # One blocked answer refuses them all: a name that resolves to an internal
            # address is not a receiver we may try, even if it also has a public one.
            raise AddressRefused(f"{host} resolves to {address}, which is {reason}")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise AddressRefused(f"{host} resolves to no address")
    return addresses


# ---- the URL's host


def _split_host_and_port(netloc: str) -> tuple[str, int | None]:
    """The host and port of an authority without credentials (port None if absent)."""
    if netloc.startswith("["):
        host, bracket, after = netloc.partition("]")
        host += bracket
        if not bracket or (after and not after.startswith(":")):
            raise AddressRefused("the URL's host is malformed")
        port_text = after[1:]
    else:
        host, _, port_text = netloc.partition(":")
    if not host:
        raise AddressRefused("the URL must have a host")
    if not port_text:  # "host:" is the default port, as in browsers
        return host, None
    # int() alone would take "+80", " 80" and non-ASCII digits; ports are 1-5 ASCII digits.
    if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5):
        raise AddressRefused("the URL's port is malformed (must be 1-65535)")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise AddressRefused("the URL's port is malformed (must be 1-65535)")
    return host, port


def _normalise_host(host: str) -> str:
    """Lowercase punycode without a trailing dot, a dotted-quad IPv4 address, or a
    compressed IPv6 address without brackets; AddressRefused if malformed."""
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise AddressRefused("the URL's host is malformed") from None
        if address.scope_id is not None:  # "%eth0" names an interface of ours
            raise AddressRefused("the URL's host must not have a zone id")
        return address.compressed
    if not host.isascii():
        if _IDNA_DEVIATIONS.intersection(host):
            raise AddressRefused("the URL's host has a character browsers encode differently")
        try:
            # Nameprep lowercases and maps fullwidth forms; ideographic dots split labels.
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise AddressRefused("the URL's host is malformed") from None
    host = host.lower().removesuffix(".")
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        try:
            return str(ipaddress.IPv4Address(host))  # leading zeros and short forms refused
        except ValueError:
            raise AddressRefused("the URL's host is malformed") from None
    if len(host) > 253 or not all(_ASCII_LABEL.fullmatch(label) for label in labels):
        raise AddressRefused("the URL's host is malformed")
    for label in labels:
        if label.startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                raise AddressRefused("the URL's host is malformed") from None
    return host


def _normalise_own_host(host: str) -> str:
    """An own host from configuration: a name or an IP address (IPv6 with or without
    brackets), normalised as a URL's host is."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return _normalise_host(host)


def _is_ip_literal(host: str) -> bool:
    """True for a normalised host that is an IP address (IPv6 ones have a colon)."""
    return ":" in host or _NUMERIC_LABEL.fullmatch(host.rpartition(".")[2]) is not None
