"""The blocked IP ranges, range by range, in every form an address can take."""

import ipaddress

import pytest

from shortener_worker.webhooks.blocked import refusal

# One address in every blocked range, in the forms it can take, with a word of its reason.
BLOCKED = [
    ("0.0.0.0", "this network"),  # noqa: S104 (an address to refuse, not to bind)
    ("0.1.2.3", "this network"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.0.1", "link-local"),
    ("169.254.169.254", "cloud metadata"),
    ("192.0.0.8", "IETF protocol"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.1", "documentation"),
    ("203.0.113.1", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("192.88.99.1", "6to4 relay"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fc00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("2001::1", "Teredo"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001:2::1", "IETF protocol"),
    ("100::1", "discard"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    ("4000::1", "reserved"),
    ("5f00::1", "reserved"),
    # IPv4-mapped: a dual-stack socket connects to the IPv4 address inside.
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    # IPv4-compatible (deprecated), NAT64 and 6to4: judged by the IPv4 address inside.
    ("::127.0.0.1", "IPv4-compatible address leading to 127.0.0.1, a loopback"),
    ("::10.0.0.1", "IPv4-compatible address leading to 10.0.0.1, a private"),
    ("64:ff9b::127.0.0.1", "NAT64 address leading to 127.0.0.1, a loopback"),
    ("64:ff9b::169.254.169.254", "NAT64 address leading to 169.254.169.254, the cloud"),
    ("64:ff9b::192.168.0.1", "NAT64 address leading to 192.168.0.1, a private"),
    ("2002:7f00:1::1", "6to4 address leading to 127.0.0.1, a loopback"),
    ("2002:a9fe:a9fe::1", "6to4 address leading to 169.254.169.254"),
]

PUBLIC = [
    "1.1.1.1",
    "8.8.8.8",
    "93.184.215.14",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above it
    "172.15.255.255",  # just below 172.16/12
    "172.32.0.0",  # just above it
    "192.0.1.255",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",  # mapped: the public IPv4 address it carries
    "64:ff9b::8.8.8.8",  # NAT64 to a public address: how IPv6-only hosts reach IPv4
    "2002:808:808::1",  # 6to4 of a public address
]


def address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(("text", "reason"), BLOCKED)
def test_every_blocked_range_is_refused_with_its_reason(text: str, reason: str) -> None:
    assert reason in (refusal(address(text)) or "allowed")


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_are_allowed(text: str) -> None:
    assert refusal(address(text)) is None


ALLOWED_NETWORK = ipaddress.ip_network("172.18.0.0/16")  # e.g. the test receiver's network


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("172.18.0.5", True),
        ("172.18.255.255", True),
        ("::ffff:172.18.0.5", True),  # the same socket address
        ("172.17.0.5", False),  # the network next door
        ("172.19.0.1", False),
        ("10.0.0.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("64:ff9b::172.18.0.5", False),  # reached through a NAT64 gateway, not directly
    ],
)
def test_the_allow_list_exempts_exactly_its_network(text: str, allowed: bool) -> None:
    assert (refusal(address(text), [ALLOWED_NETWORK]) is None) is allowed


def test_an_ipv6_allow_list_exempts_ipv6_addresses() -> None:
    network = ipaddress.ip_network("fd00:1::/64")
    assert refusal(address("fd00:1::5"), [network]) is None
    assert refusal(address("fd00:2::5"), [network]) is not None
