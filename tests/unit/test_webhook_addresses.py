"""The SSRF guard: which URLs and addresses may receive webhooks, range by range.

DNS is replaced by a function answering fixed addresses (resolve_allowed's `resolver`):
a stand-in for the network, so every answer, good or hostile, is reproducible offline.
"""

import ipaddress

import pytest

from shortener_worker.webhooks.addresses import (
    AddressRefused,
    Target,
    check_url,
    refusal,
    resolve_allowed,
)

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


def answering(*answers: str):
    """A resolver that answers every name with `answers`, and counts the questions."""

    def resolve(host: str, port: int) -> list[str]:
        resolve.questions.append((host, port))  # type: ignore[attr-defined]
        return list(answers)

    resolve.questions = []  # type: ignore[attr-defined]
    return resolve


# ---- addresses


@pytest.mark.parametrize(("text", "reason"), BLOCKED)
def test_every_blocked_range_is_refused_with_its_reason(text: str, reason: str) -> None:
    assert reason in (refusal(address(text)) or "allowed")


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_are_allowed(text: str) -> None:
    assert refusal(address(text)) is None


@pytest.mark.parametrize(("text", "reason"), BLOCKED)
def test_a_blocked_address_is_refused_by_resolve_allowed(text: str, reason: str) -> None:
    with pytest.raises(AddressRefused, match=reason):
        resolve_allowed("receiver.example", 443, resolver=answering(text))


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


# ---- resolution


def test_all_answers_are_returned_once_each_in_order() -> None:
    resolver = answering("2606:4700::1", "1.1.1.1", "1.1.1.1", "1.0.0.1")
    assert resolve_allowed("receiver.example", 8443, resolver=resolver) == [
        address("2606:4700::1"),
        address("1.1.1.1"),
        address("1.0.0.1"),
    ]
    assert resolver.questions == [("receiver.example", 8443)]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "answers",
    [
        ("93.184.215.14", "127.0.0.1"),
        ("10.0.0.1", "93.184.215.14"),
        ("2606:4700::1", "::1"),
        ("93.184.215.14", "::ffff:169.254.169.254"),
    ],
)
def test_a_name_resolving_to_a_public_and_a_blocked_address_is_refused(
    answers: tuple[str, ...],
) -> None:
    with pytest.raises(AddressRefused, match="resolves to"):
        resolve_allowed("mixed.example", 443, resolver=answering(*answers))


def test_a_mapped_answer_is_returned_as_the_ipv4_address_connected_to() -> None:
    resolver = answering("::ffff:172.18.0.5")
    addresses = resolve_allowed(
        "receiver.test", 80, allowed_networks=[ALLOWED_NETWORK], resolver=resolver
    )
    assert addresses == [address("172.18.0.5")]


def test_an_ip_literal_is_not_resolved() -> None:
    resolver = answering("93.184.215.14")
    assert resolve_allowed("1.1.1.1", 443, resolver=resolver) == [address("1.1.1.1")]
    with pytest.raises(AddressRefused, match="loopback"):
        resolve_allowed("::1", 443, resolver=resolver)
    assert resolver.questions == []  # type: ignore[attr-defined]


def test_no_answer_is_refused() -> None:
    with pytest.raises(AddressRefused, match="no address"):
        resolve_allowed("empty.example", 443, resolver=answering())


# ---- URLs


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://hooks.example.com/in", Target("https", "hooks.example.com", 443, "/in")),
        ("http://hooks.example.com", Target("http", "hooks.example.com", 80, "/")),
        (
            "https://hooks.example.com:8443/a?b=1#frag",
            Target("https", "hooks.example.com", 8443, "/a?b=1"),
        ),
        ("HTTPS://Hooks.Example.COM./x", Target("https", "hooks.example.com", 443, "/x")),
        ("https://hooks.example.com:/x", Target("https", "hooks.example.com", 443, "/x")),
        ("https://bücher.example/", Target("https", "xn--bcher-kva.example", 443, "/")),
        ("https://BÜCHER.example/", Target("https", "xn--bcher-kva.example", 443, "/")),
        ("https://例え.テスト/", Target("https", "xn--r8jz45g.xn--zckzah", 443, "/")),
        ("https://example。com/", Target("https", "example.com", 443, "/")),
        ("https://8.8.8.8/", Target("https", "8.8.8.8", 443, "/")),
        ("https://[2606:4700:0:0::1111]:8443/", Target("https", "2606:4700::1111", 8443, "/")),
        ("https://receiver.test:9999/hook", Target("https", "receiver.test", 9999, "/hook")),
    ],
)
def test_allowed_urls_are_parsed_into_their_target(url: str, target: Target) -> None:
    assert check_url(url) == target


@pytest.mark.parametrize(
    ("target", "host_header", "url"),
    [
        (
            Target("https", "hooks.example.com", 443, "/a?b"),
            "hooks.example.com",
            "https://hooks.example.com/a?b",
        ),
        (
            Target("http", "hooks.example.com", 8080, "/"),
            "hooks.example.com:8080",
            "http://hooks.example.com:8080/",
        ),
        (
            Target("https", "2606:4700::1111", 443, "/"),
            "[2606:4700::1111]",
            "https://[2606:4700::1111]/",
        ),
        (
            Target("http", "2606:4700::1111", 81, "/"),
            "[2606:4700::1111]:81",
            "http://[2606:4700::1111]:81/",
        ),
    ],
)
def test_the_host_header_has_the_port_only_when_not_the_default(
    target: Target, host_header: str, url: str
) -> None:
    assert (target.host_header, target.url) == (host_header, url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("gopher://hooks.example.com/", "http or https"),
        ("javascript:alert(1)", "http or https"),
        ("hooks.example.com/in", "http or https"),
        ("https:///in", "must have a host"),
        ("https://:443/in", "must have a host"),
        ("https://user:password@hooks.example.com/", "credentials"),
        ("https://user@hooks.example.com/", "credentials"),
        ("https://@hooks.example.com/", "credentials"),
        ("https://hooks.example.com@127.0.0.1/", "credentials"),
        ("https://hooks.example.com:0/", "port"),
        ("https://hooks.example.com:65536/", "port"),
        ("https://hooks.example.com:+80/", "port"),
        ("https://hooks.example.com:\uff18\uff10/", "port"),  # fullwidth 80
        ("https://hooks.example.com/a b", "spaces or control"),
        ("https://hooks.example.com/\r\nX: 1", "spaces or control"),
        ("https://hooks.example.com/é", "ASCII"),
        ("https://hooks..example.com/", "malformed"),
        ("https://hooks.exa$mple.com/", "malformed"),
        ("https://xn--zz.example/", "malformed"),
        ("https://straße.de/", "encode differently"),
        ("https://[::1/", "malformed"),
        ("https://[fe80::1%25eth0]/", "zone id"),
        ("https://" + "a" * 2048 + ".example/", "at most 2048"),
        # Loopback in the forms a resolver would read as 127.0.0.1: refused as malformed.
        ("http://2130706433/", "malformed"),
        ("http://0x7f.1/", "malformed"),
        ("http://0177.0.0.1/", "malformed"),
        ("http://127.1/", "malformed"),
        # IP literals are judged as addresses, at once.
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://[::1]:8080/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://10.1.2.3/", "private"),
        ("http://[fd00::1]/", "unique local"),
        ("http://[64:ff9b::a9fe:a9fe]/", "NAT64"),
        # Local names.
        ("http://localhost/", "local name"),
        ("http://LOCALHOST.:8080/", "local name"),
        ("http://api.localhost/", "local name"),
        ("http://localhost.localdomain/", "local name"),
        ("http://metadata.google.internal/", "local name"),
        ("http://host.docker.internal/", "local name"),
        ("http://printer.local/", "local name"),
        ("http://nas.home.arpa/", "local name"),
    ],
)
def test_refused_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(AddressRefused, match=reason):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://notlocalhost.example/",  # only localhost and its subdomains are local
        "https://localhost.example.com/",
        "https://internal.example.com/",
        "https://docs.local.example/",
    ],
)
def test_names_that_only_look_local_are_allowed(url: str) -> None:
    check_url(url)


@pytest.mark.parametrize(
    "url",
    ["https://sho.rt/hook", "https://SHO.RT:8443/", "http://[2001:db8::5]/", "https://1.2.3.4/"],
)
def test_the_shorteners_own_hosts_are_refused(url: str) -> None:
    own = ["sho.rt", "2001:db8::5", "1.2.3.4"]
    with pytest.raises(AddressRefused, match="this shortener"):
        check_url(url, own_hosts=own)


def test_an_allowed_network_admits_an_ip_literal_in_it_only() -> None:
    allowed = [ipaddress.ip_network("127.0.0.0/8")]
    assert check_url("http://127.0.0.1:8080/hook", allowed_networks=allowed).host == "127.0.0.1"
    with pytest.raises(AddressRefused, match="private"):
        check_url("http://10.0.0.1/", allowed_networks=allowed)
    with pytest.raises(AddressRefused, match="local name"):
        check_url("http://localhost:8080/", allowed_networks=allowed)  # names stay refused
