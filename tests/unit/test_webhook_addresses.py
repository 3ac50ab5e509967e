"""The SSRF guard: which URLs may receive webhooks, and the check of every address a
name resolves to (the ranges themselves: test_webhook_blocked.py).

DNS is replaced by a function answering fixed addresses (resolve_allowed's `resolver`):
a stand-in for the network, so every answer, good or hostile, is reproducible offline.
"""

import ipaddress

import pytest

from shortener_worker.webhooks.addresses import (
    AddressRefused,
    Target,
    check_url,
    resolve_allowed,
)


def address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def answering(*answers: str):
    """A resolver that answers every name with `answers`, and counts the questions."""

    def resolve(host: str, port: int) -> list[str]:
        resolve.questions.append((host, port))  # type: ignore[attr-defined]
        return list(answers)

    resolve.questions = []  # type: ignore[attr-defined]
    return resolve


# ---- resolution


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("::1", "loopback"),
        ("::ffff:192.168.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "NAT64 address leading to 169.254.169.254"),
    ],
)
def test_a_blocked_answer_is_refused_with_the_name_and_the_reason(answer: str, reason: str) -> None:
    with pytest.raises(AddressRefused, match=f"receiver.example resolves to .*{reason}"):
        resolve_allowed("receiver.example", 443, resolver=answering(answer))


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
    allowed = [ipaddress.ip_network("172.18.0.0/16")]  # e.g. the test receiver's network
    addresses = resolve_allowed("receiver.test", 80, allowed_networks=allowed, resolver=resolver)
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
