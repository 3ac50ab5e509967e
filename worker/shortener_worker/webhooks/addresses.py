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

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
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
        address = _unmapped(ipaddress.ip_address(answer))
        if reason := refusal(address, allowed_networks):
            # One blocked answer refuses them all: a name that resolves to an internal
            # address is not a receiver we may try, even if it also has a public one.
            raise AddressRefused(f"{host} resolves to {address}, which is {reason}")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise AddressRefused(f"{host} resolves to no address")
    return addresses


# ---- which addresses are blocked
#
# The ipaddress module's properties are used where they mean exactly one range we block:
# is_unspecified, is_loopback, is_link_local, is_multicast, is_reserved (IPv4 240/4), and
# the accessors of addresses embedding an IPv4 one (ipv4_mapped, sixtofour).
# Explicit networks everywhere else, because:
# - is_private / is_global are not "RFC 1918": they follow IANA's special-purpose registry,
#   changed meaning in patch releases (gh-113171, 3.11.10 / 3.12.4: mapped addresses,
#   192.0.0.0/24) and differ between this venv (3.11) and the worker image (3.13);
#   100.64/10 (CGNAT) is not is_private in any of them;
# - is_unspecified is one address, not 0.0.0.0/8; there is no property for NAT64,
#   IPv4-compatible addresses, documentation or benchmarking ranges;
# - the IPv6 is_reserved ranges all lie outside 2000::/3, which the last rule refuses.
# The names make the refusal message; the first match names it.
_BLOCKED_V4 = [
    (ipaddress.IPv4Network(network), name)
    for network, name in [
        ("169.254.169.254/32", "the cloud metadata address"),
        ("0.0.0.0/8", "a 'this network' address (0.0.0.0/8)"),
        ("10.0.0.0/8", "a private address (10.0.0.0/8)"),
        ("172.16.0.0/12", "a private address (172.16.0.0/12)"),
        ("192.168.0.0/16", "a private address (192.168.0.0/16)"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("192.0.0.0/24", "an IETF protocol assignment address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("192.88.99.0/24", "a deprecated 6to4 relay address"),
        ("255.255.255.255/32", "the broadcast address"),
    ]
]
_BLOCKED_V6 = [
    (ipaddress.IPv6Network(network), name)
    for network, name in [
        ("fc00::/7", "a unique local (private) address"),
        ("fec0::/10", "a site-local address"),
        # Teredo tunnels to an IPv4 client through relays; no receiver is reached that way.
        ("2001::/32", "a Teredo address"),
        ("2001::/23", "an IETF protocol assignment address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        # Local-use NAT64 (RFC 8215): translated by the operator's own gateway, to anywhere.
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
    ]
]
_BLOCKED_BY_PROPERTY = [
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"),
]
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052's well-known prefix
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated (RFC 4291), ::a.b.c.d
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def refusal(address: IPAddress, allowed_networks: Sequence[IPNetwork] = ()) -> str | None:
    """Why a webhook may not be sent to `address` ("a loopback address"), or None if it may.

    An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 address it carries: a dual-stack
    socket connects to that. `allowed_networks` is matched against the address connected
    to, so it never exempts the IPv4 address inside a NAT64 or 6to4 address.
    """
    address = _unmapped(address)
    if any(address in network for network in allowed_networks):
        return None
    if isinstance(address, ipaddress.IPv6Address) and not (
        address.is_unspecified or address.is_loopback  # :: and ::1 are in ::/96 too
    ):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind, ipv4 = embedded
            reason = refusal(ipv4)
            return f"{kind} leading to {ipv4}, {reason}" if reason else None
    blocked = _BLOCKED_V4 if isinstance(address, ipaddress.IPv4Address) else _BLOCKED_V6
    for network, name in blocked:
        if address in network:
            return name
    for attribute, name in _BLOCKED_BY_PROPERTY:
        if getattr(address, attribute):
            return name
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST:
        return "not a global unicast address (outside 2000::/3)"
    return None


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address a NAT64, 6to4 or IPv4-compatible address leads to, with its kind.

    NAT64 must be allowed when it leads to a public address: on an IPv6-only network with
    DNS64, every public IPv4 receiver resolves to 64:ff9b::a.b.c.d.
    """
    low_32_bits = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64:
        return "a NAT64 address", low_32_bits
    if address.sixtofour is not None:
        return "a 6to4 address", address.sixtofour
    if address in _IPV4_COMPATIBLE:
        return "an IPv4-compatible address", low_32_bits
    return None


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
