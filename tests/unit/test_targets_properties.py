"""Properties of the target normaliser, over generated URLs and over arbitrary text.

Whatever it is given, `normalise_target` either raises TargetRejected or returns a URL that
is safe to store and redirect to (see `assert_safe_to_store`), and that it maps to itself.
"""

import re
import string
from ipaddress import ip_address
from urllib.parse import urlsplit

import pytest
from hypothesis import assume, event, example, given, settings
from hypothesis import strategies as st

from shortener.links.targets import MAX_URL_LENGTH, TargetPolicy, TargetRejected, normalise_target

# Bounded so the unit tier stays fast. (Hypothesis keeps failing examples in .hypothesis/,
# which it git-ignores itself, and replays them first on the next run.)
BOUNDED = settings(max_examples=300, deadline=None)

POLICY = TargetPolicy(
    own_hosts=frozenset({"sho.rt", "127.0.0.1", "[::1]"}),
    blocked_hosts=frozenset({"evil.example", "xn--bcher-kva.example", "10.0.0.1"}),
)
C0_AND_SPACE = "".join(map(chr, range(0x21)))
# Characters that are refused anywhere, a few of each kind.
CONTROLS_AND_SPACES = [
    *map(chr, range(0x20)),
    " ",
    "\x7f",
    "\x80",
    "\x85",
    "\x9f",
    "\u00a0",
    "\u1680",
    "\u2003",
    "\u2028",
    "\u2029",
    "\u3000",
]
# Characters that change how a URL splits, or that parsers disagree about.
TRICKY = ["\\", "@", ":", "/", "?", "#", "[", "]", "%", ".", "\u3002", "\uff0e", "\u200b"]


def fullwidth(ascii_text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) for char in ascii_text)


BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def is_refused_character(char: str) -> bool:
    return char.isspace() or ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F or char in BIDI_CONTROLS


def assert_safe_to_store(stored: str, policy: TargetPolicy) -> None:
    """Everything a stored target must be."""
    parts = urlsplit(stored)
    # (a) http or https, lowercase, with an authority.
    assert parts.scheme in {"http", "https"}
    assert stored.startswith(f"{parts.scheme}://")
    # (b) no userinfo of any kind.
    assert "@" not in parts.netloc
    assert parts.username is None and parts.password is None
    # (c) a non-empty ASCII host, and a port only if it is not the default.
    host = parts.hostname
    assert host and host.isascii()
    assert parts.port is None or (
        1 <= parts.port <= 65535 and parts.port != {"http": 80, "https": 443}[parts.scheme]
    )
    # (d) no whitespace or control characters; no backslash before the query.
    assert not any(is_refused_character(char) for char in stored)
    assert "\\" not in re.split(r"[?#]", stored, maxsplit=1)[0]
    # (e) within the length cap.
    assert len(stored) <= MAX_URL_LENGTH
    # (f) neither the shortener itself nor under a blocked domain.
    stored_host = f"[{host}]" if ":" in host else host
    assert stored_host not in policy.own_hosts
    labels = stored_host.split(".")
    assert not any(".".join(labels[index:]) in policy.blocked_hosts for index in range(len(labels)))
    # (g) a fixed point.
    assert normalise_target(stored, policy) == stored


def normalise_or_none(url: str, policy: TargetPolicy = POLICY) -> str | None:
    """The stored form, checked, or None if refused; any other exception fails the test."""
    try:
        stored = normalise_target(url, policy)
    except TargetRejected as rejection:
        assert str(rejection), "a rejection must say what is wrong"
        event(f"refused: {rejection}")  # pytest --hypothesis-show-statistics shows the mix
        return None
    assert_safe_to_store(stored, policy)
    event("accepted")
    return stored


# ---- strategies: URLs built from parts, good and bad -------------------------------------

ALPHANUMERIC = string.ascii_letters + string.digits
# Letters, digits and single inner hyphens: valid labels of up to 26 characters.
ldh_labels = st.lists(st.text(ALPHANUMERIC, min_size=1, max_size=8), min_size=1, max_size=3).map(
    "-".join
)
tlds = st.text(string.ascii_letters, min_size=2, max_size=6)
ascii_domains = st.builds(
    lambda labels, tld, dot: ".".join([*labels, tld]) + dot,
    st.lists(ldh_labels, min_size=1, max_size=3),
    tlds,
    st.sampled_from(["", "", "."]),
)
unicode_labels = st.one_of(
    st.sampled_from(["bücher", "straße", "пример", "例え", "δοκιμή", "ÄÖÜ", fullwidth("wide")]),
    st.text(
        st.characters(codec="utf-8", categories=["Ll", "Lu", "Lo", "Nd", "Mn", "Cf"]),
        min_size=1,
        max_size=8,
    ),
)
unicode_domains = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(st.one_of(unicode_labels, ldh_labels), min_size=1, max_size=3),
    st.one_of(tlds, unicode_labels),
)
ipv4_hosts = st.ip_addresses(v=4).map(str)
ipv6_hosts = st.ip_addresses(v=6).map(lambda address: f"[{address}]")
# Numbers a browser reads as IPv4 in other spellings: must be refused, never stored.
numeric_hosts = st.one_of(
    st.integers(0, 2**32).map(str),
    st.integers(0, 255).map(lambda n: f"0x{n:x}.1"),
    st.integers(0, 255).map(lambda n: f"0{n:o}.0.0.1"),
    st.tuples(st.integers(0, 999), st.integers(0, 999)).map(lambda t: f"{t[0]}.{t[1]}"),
)
policy_hosts = st.sampled_from(
    ["sho.rt", "SHO.RT", "sho.rt.", "www.sho.rt", fullwidth("sho") + ".rt", "127.0.0.1",
     "[::1]", "[0:0::1]", "evil.example", "a.evil.example", "EVIL.example.", "notevil.example",
     "bücher.example", "x.BÜCHER.example", "10.0.0.1", "10.0.0.10"]
)  # fmt: skip


@st.composite
def mostly(draw: st.DrawFn, good: st.SearchStrategy[str], bad: st.SearchStrategy[str]) -> str:
    """A good part about three times in four, so that many whole URLs are accepted.

    (st.one_of(good, good, good, bad) would not do: it drops repeated branches.)"""
    return draw(bad) if draw(st.integers(0, 3)) == 0 else draw(good)


hosts = mostly(
    st.one_of(ascii_domains, unicode_domains, ipv4_hosts, ipv6_hosts),
    st.one_of(numeric_hosts, policy_hosts, st.text(max_size=12)),
)
schemes = mostly(
    st.sampled_from(["http", "https", "HTTP", "HTTPS", "hTtPs"]),
    st.one_of(
        st.sampled_from(["ftp", "javascript", "data", "file", "ws", "htt", "httpss", "", "ht tp"]),
        st.text(string.ascii_letters + "+-.", max_size=6),
    ),
)
separators = mostly(
    st.just("://"),
    st.sampled_from([":/", ":", ":///", ":\\\\", ":/\\", ":\\/", "://\\", "//", ""]),
)
userinfos = mostly(
    st.just(""),
    st.one_of(
        st.sampled_from(["@", ":@", "user@", "user:pw@", "a@b@", "sho.rt@", "u\\@"]),
        st.text(max_size=6).map(lambda text: text + "@"),
    ),
)
ports = mostly(
    st.one_of(st.just(""), st.integers(1, 65535).map(lambda port: f":{port}")),
    st.one_of(
        st.sampled_from([":", ":0", ":65536", ":0080", ":+1", ":1e3", ":" + fullwidth("80")]),
        st.text(max_size=5).map(lambda text: ":" + text),
    ),
)
# Path, query and fragment text: printable (any script) mostly, anything at all sometimes.
printable_text = st.text(
    st.characters(exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"]), max_size=30
)
tails = st.one_of(
    st.just(""),
    st.builds(
        lambda marker, text: marker + text,
        st.sampled_from(["/", "/", "?", "#"]),
        mostly(printable_text, st.text(max_size=30)),
    ),
)


@st.composite
def sprinkled(draw: st.DrawFn, text: str) -> str:
    """`text` with a few refused or tricky characters inserted anywhere."""
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(CONTROLS_AND_SPACES + TRICKY))
        text = text[:position] + char + text[position:]
    return text


urls_from_parts = st.builds(
    lambda *parts: "".join(parts), schemes, separators, userinfos, hosts, ports, tails
).flatmap(lambda url: mostly(st.just(url), sprinkled(url)))


# ---- properties --------------------------------------------------------------------------


@BOUNDED
@given(st.text())
def test_arbitrary_text_is_refused_or_safely_normalised(text: str) -> None:
    normalise_or_none(text)


@BOUNDED
@given(st.text(string.printable + "\x00\x7f\x85\u00a0\u3002ü", max_size=60))
def test_arbitrary_url_like_text_is_refused_or_safely_normalised(text: str) -> None:
    normalise_or_none("https://" + text)


@BOUNDED
@given(urls_from_parts)
@example("https://example.org\\@evil.example/")
@example("https:/\\evil.example/")
@example("\x00https://evil.example/ ")
def test_urls_from_parts_are_refused_or_safely_normalised(url: str) -> None:
    stored = normalise_or_none(url)
    if stored is None:
        return
    # The path, query and fragment are kept byte for byte.
    given_url = url.strip(C0_AND_SPACE)
    given_parts, stored_parts = urlsplit(given_url), urlsplit(stored)
    tail = given_url.split("//", 1)[1][len(given_parts.netloc) :]
    assert stored.endswith(tail)
    assert stored == f"{stored_parts.scheme}://{stored_parts.netloc}{tail}"


@BOUNDED
@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "Https"]),
    host=st.one_of(ascii_domains, ipv4_hosts, ipv6_hosts),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    tail=st.one_of(st.just(""), st.text(string.printable.strip().replace("\\", ""), max_size=40)),
)
def test_well_formed_urls_are_accepted_with_only_scheme_host_and_port_changed(
    scheme: str, host: str, port: int | None, tail: str
) -> None:
    tail = "/" + tail if tail else tail
    given_url = f"{scheme}://{host}{'' if port is None else f':{port}'}{tail}"
    policy = TargetPolicy()
    stored = normalise_or_none(given_url, policy)
    assert stored is not None, given_url
    parts = urlsplit(stored)
    assert parts.scheme == scheme.lower()
    if host.startswith("["):
        assert ip_address(parts.hostname or "") == ip_address(host[1:-1])
    else:
        assert parts.hostname == host.lower().removesuffix(".")
    default_port = {"http": 80, "https": 443}[scheme.lower()]
    assert parts.port == (None if port == default_port else port)
    assert stored.endswith(tail)


@BOUNDED
@given(
    url=st.builds(
        lambda host, tail: f"https://{host}/{tail}",
        st.one_of(ascii_domains, unicode_domains, ipv4_hosts, ipv6_hosts),
        printable_text,
    ),
    char=st.sampled_from(CONTROLS_AND_SPACES),
    where=st.integers(1, 10_000),
)
def test_controls_and_spaces_inside_are_always_refused(url: str, char: str, where: int) -> None:
    stored = normalise_or_none(url, TargetPolicy())
    assume(stored is not None)
    assert stored is not None
    # Strictly inside a stored URL, which neither starts nor ends with a strippable character.
    position = 1 + where % (len(stored) - 1)
    with pytest.raises(TargetRejected, match="spaces or control"):
        normalise_target(stored[:position] + char + stored[position:], POLICY)


@BOUNDED
@given(
    host=st.one_of(ascii_domains, ipv4_hosts, ipv6_hosts, unicode_domains),
    userinfo=st.text(string.ascii_letters + string.digits + "!$&'()*+,;=:@%-._~", max_size=10),
    port=st.sampled_from(["", ":443", ":8080"]),
)
def test_credentials_are_always_refused(host: str, userinfo: str, port: str) -> None:
    stored = normalise_or_none(f"https://{host}{port}/", TargetPolicy())
    if stored is None:
        return  # the host itself is invalid: nothing to hide credentials in front of
    with pytest.raises(TargetRejected, match="credentials"):
        normalise_target(f"https://{userinfo}@{host}{port}/", TargetPolicy())
    with pytest.raises(TargetRejected, match="credentials"):
        normalise_target(f"https://{userinfo}@{stored.removeprefix('https://')}", TargetPolicy())


@BOUNDED
@given(
    subdomains=st.lists(ldh_labels, max_size=3),
    blocked=st.sampled_from(["evil.example", "EVIL.Example", "bücher.example", "BÜCHER.example"]),
    dot=st.sampled_from(["", "."]),
    port=st.sampled_from(["", ":443", ":8080"]),
)
def test_a_blocked_domain_blocks_every_subdomain(
    subdomains: list[str], blocked: str, dot: str, port: str
) -> None:
    host = ".".join([*subdomains, blocked]) + dot
    with pytest.raises(TargetRejected, match="blocked"):
        normalise_target(f"https://{host}{port}/x", POLICY)


@BOUNDED
@given(label=ldh_labels, blocked=st.sampled_from(["evil.example", "xn--bcher-kva.example"]))
def test_a_blocked_domain_does_not_block_look_alike_names(label: str, blocked: str) -> None:
    for host in (label + blocked, f"{blocked}.{label}.org"):  # notevil.example, evil.example.org
        url = f"https://{host}/"
        assert normalise_or_none(url) == url.lower()


@BOUNDED
@given(
    own=st.sampled_from(["sho.rt", "SHO.RT.", fullwidth("sho.rt"), "127.0.0.1", "[::1]", "[0::1]"]),
    scheme=st.sampled_from(["http", "HTTPS"]),
    port=st.one_of(st.just(""), st.integers(1, 65535).map(lambda port: f":{port}")),
    tail=st.text(string.ascii_letters + string.digits + "/?#=&%-._~", max_size=20),
)
def test_the_shorteners_own_hosts_are_refused_on_any_port(
    own: str, scheme: str, port: str, tail: str
) -> None:
    with pytest.raises(TargetRejected, match="must not point at this shortener"):
        normalise_target(f"{scheme}://{own}{port}/{tail}", POLICY)
