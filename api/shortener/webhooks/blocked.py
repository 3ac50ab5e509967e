# A copy of worker/shortener_worker/webhooks/blocked.py: the api checks a receiver when a
# webhook is made, the sender at every delivery; tests/unit/test_webhook_guard_copies.py
# keeps the two equal. Edit the worker's, then copy.
"""Which IP addresses webhooks may not reach: loopback, private, link-local (the cloud
metadata address), CGNAT, multicast, reserved, documentation... and IPv6 addresses that
lead to one of those through the IPv4 address inside them.

`refusal` answers for one address; addresses.py applies it to IP literals in URLs and to
every address a name resolves to.
"""

import ipaddress
from collections.abc import Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

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
    address = unmapped(address)
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


def unmapped(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped one (::ffff:a.b.c.d); any other unchanged."""
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
