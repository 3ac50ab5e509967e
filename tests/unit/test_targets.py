"""The target normaliser, rule by rule, with examples (properties: test_targets_properties)."""

import re
from pathlib import Path

import pytest

from shortener.links.targets import (
    MAX_URL_LENGTH,
    TargetPolicy,
    TargetRejected,
    normalise_target,
)


def fullwidth(ascii_text: str) -> str:
    """The look-alike fullwidth forms (U+FF01-U+FF5E) that UTS #46 maps back to ASCII."""
    return "".join(chr(ord(char) + 0xFEE0) for char in ascii_text)


POLICY = TargetPolicy(
    own_hosts=frozenset({"sho.rt", "127.0.0.1", "[::1]"}),
    blocked_hosts=frozenset({"evil.example", "10.0.0.1", "2001:db8::bad"}),
)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/",
        "http://example.org/path?q=1#frag",
        "https://example.org",
        "https://example.org:8443/x",
        "http://example.org:443/",
        "https://example.org:80/",
        "https://[2001:db8::1]/",
        "https://192.0.2.1/",
        "https://xn--bcher-kva.example/",
        "https://example.org/a%20b/%E2%82%AC?q=%zz&r=€#x%20y",
        "https://example.org/path?",
        "https://example.org/path#",
        "https://example.org/p?q=a\\b#c\\d",
        "https://example.org//double/slash",
        "https://localhost:3000/",
    ],
)
def test_canonical_urls_are_stored_unchanged(url: str) -> None:
    assert normalise_target(url) == url


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        # Scheme and host are lowercased; the path, query and fragment are not touched.
        ("HTTPS://EXAMPLE.ORG/Path?Q=A#F", "https://example.org/Path?Q=A#F"),
        ("HtTp://Example.Org", "http://example.org"),
        # IDN hosts become punycode (UTS #46: case and fullwidth forms mapped first).
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://BÜCHER.example/", "https://xn--bcher-kva.example/"),
        ("https://straße.de/", "https://xn--strae-oqa.de/"),
        ("https://" + fullwidth("example") + ".org/", "https://example.org/"),
        ("https://example。org/", "https://example.org/"),
        ("https://xn--BCHER-KVA.example/", "https://xn--bcher-kva.example/"),
        # One trailing dot is dropped.
        ("https://example.org./", "https://example.org/"),
        ("http://192.0.2.1./", "http://192.0.2.1/"),
        # The default port is dropped, others kept; leading zeros and an empty port too.
        ("http://example.org:80/", "http://example.org/"),
        ("https://example.org:443/", "https://example.org/"),
        ("HTTPS://example.org:443", "https://example.org"),
        ("http://example.org:0080/", "http://example.org/"),
        ("https://example.org:08443/", "https://example.org:8443/"),
        ("https://example.org:/", "https://example.org/"),
        ("https://example.org:" + "0" * 5000 + "8443/", "https://example.org:8443/"),
        # IPv6 literals are compressed and lowercased; fullwidth digits become ASCII.
        ("https://[2001:DB8:0:0:0:0:0:1]:443/", "https://[2001:db8::1]/"),
        ("http://" + fullwidth("192.0.2.1") + "/", "http://192.0.2.1/"),
        # Leading and trailing C0 controls and spaces are stripped (CVE-2023-24329 class).
        ("\x00\x1f https://example.org/ \n", "https://example.org/"),
        ("\t\r\nhttps://example.org/x\r\n", "https://example.org/x"),
    ],
)
def test_scheme_host_and_port_are_normalised(url: str, stored: str) -> None:
    assert normalise_target(url) == stored
    assert normalise_target(stored) == stored


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        # Empty.
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("\x00\x1f", "must not be empty"),
        # Whitespace and controls inside: C0, DEL, C1, Unicode spaces.
        ("https://exa mple.org/", "spaces or control"),
        ("https://example.org/a\x00b", "spaces or control"),
        ("https://example.org/a\tb", "spaces or control"),
        ("https://example.org/a\x7fb", "spaces or control"),
        ("https://example.org/a\x85b", "spaces or control"),
        ("https://example.org/a\x9bb", "spaces or control"),
        ("https://example.org/\u00a0", "spaces or control"),
        ("https://example.org/\u2028", "spaces or control"),
        ("https://example.org/\u3000x", "spaces or control"),
        ("https://example.org/\ud800", "valid Unicode"),
        # Bidirectional controls: would make the stored target display as another one.
        ("https://example.org/\u202egpj.exe", "bidirectional"),
        ("https://example.org/?q=\u2066x\u2069", "bidirectional"),
        ("https://example.org/#\u200f", "bidirectional"),
        ("https://exa\u202dmple.org/", "bidirectional"),
        # Scheme.
        ("ftp://example.org/", "http or https"),
        ("javascript:alert(1)", "http or https"),
        ("data:text/html,<script>", "http or https"),
        ("example.org", "http or https"),
        ("//example.org/", "http or https"),
        ("ws://example.org/", "http or https"),
        # No host.
        ("https:///path", "must have a host"),
        ("https:/example.org", "must have a host"),
        ("https:example.org", "must have a host"),
        ("https://:443/", "must have a host"),
        ("https://?q", "must have a host"),
        # Credentials, in every spelling.
        ("https://user:pw@example.org/", "credentials"),
        ("https://user@example.org/", "credentials"),
        ("https://@example.org/", "credentials"),
        ("https://:@example.org/", "credentials"),
        ("https://:pw@example.org/", "credentials"),
        ("https://example.org@evil.example/", "credentials"),
        ("https://a@b@example.org/", "credentials"),
        # Backslash tricks: a browser reads "\" as "/" here, urlsplit does not.
        ("https://example.org\\@evil.example/", "backslash"),
        ("https://evil.example\\.example.org/", "backslash"),
        ("https:/\\evil.example/", "backslash"),
        ("https:\\\\evil.example/", "backslash"),
        ("https:\\/evil.example/", "backslash"),
        ("https://example.org/\\evil.example", "backslash"),
        ("https://example.org\\\\evil.example?x", "backslash"),
        # Malformed hosts.
        ("https://ex%61mple.org/", "malformed host"),
        ("https://exa mple.org/", "spaces or control"),
        ("https://a..b/", "malformed host"),
        ("https://xn--zz.example/", "malformed host"),
        ("https://example..org/", "malformed host"),
        ("https://example.org../", "malformed host"),
        ("https://.example.org/", "malformed host"),
        ("https://" + "a" * 64 + ".example/", "malformed host"),
        ("https://xn--a.example/", "malformed host"),
        ("https://example.org" + fullwidth("#") + "@evil.example/", "malformed host"),
        ("https://[2001:db8::1/", "malformed host"),
        ("https://[2001:db8::1]x/", "malformed host"),
        ("https://[v1.future]/", "malformed host"),
        ("https://[fe80::1%25eth0]/", "malformed host"),
        ("https://[192.0.2.1]/", "malformed host"),
        # Numbers a browser would read as another IPv4 address are refused.
        ("http://0x7f.1/", "malformed host"),
        ("http://2130706433/", "malformed host"),
        ("http://127.1/", "malformed host"),
        ("http://0177.0.0.1/", "malformed host"),
        ("http://256.0.0.1/", "malformed host"),
        ("http://example.0x/", "malformed host"),
        # Ports.
        ("https://example.org:99999/", "malformed port"),
        ("https://example.org:0/", "malformed port"),
        ("https://example.org:-1/", "malformed port"),
        ("https://example.org:http/", "malformed port"),
        ("https://example.org:443:443/", "malformed port"),
        ("https://example.org:" + "9" * 5000 + "/", "malformed port"),
        ("https://[::2]:65536/", "malformed port"),
        # Length, after normalising.
        ("https://example.org/" + "a" * MAX_URL_LENGTH, "at most 2048"),
    ],
)
def test_rejects_unsafe_or_malformed_urls(url: str, reason: str) -> None:
    with pytest.raises(TargetRejected, match=reason):
        normalise_target(url)


def test_length_cap_applies_to_the_normalised_url() -> None:
    path = "/" + "a" * (MAX_URL_LENGTH - len("https://example.org/"))
    assert len(normalise_target("https://example.org" + path)) == MAX_URL_LENGTH
    # Longer as typed, within the cap once the default port is dropped.
    assert normalise_target("https://example.org:443" + path) == "https://example.org" + path
    # Within the cap as typed, over it once the host becomes punycode.
    short_host = "https://bü.example"
    path = "/" + "a" * (MAX_URL_LENGTH - len(short_host) - 1)
    with pytest.raises(TargetRejected, match="at most"):
        normalise_target(short_host + path)


@pytest.mark.parametrize(
    "url",
    [
        "https://sho.rt/abc",
        "https://SHO.RT/abc",
        "https://sho.rt:8443/abc",
        "http://sho.rt./abc",
        "https://" + fullwidth("sho.rt") + "/",
        "http://127.0.0.1:8080/x",
        "http://[0:0::1]/",
    ],
)
def test_refuses_the_shorteners_own_hosts(url: str) -> None:
    with pytest.raises(TargetRejected, match="must not point at this shortener"):
        normalise_target(url, POLICY)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/",
        "https://EVIL.example./",
        "https://a.evil.example/",
        "https://a.b.evil.example:8443/",
        "http://10.0.0.1/",
        "http://[2001:db8::bad]/",
    ],
)
def test_refuses_blocked_hosts_and_their_subdomains(url: str) -> None:
    with pytest.raises(TargetRejected, match="points at a blocked host"):
        normalise_target(url, POLICY)


@pytest.mark.parametrize(
    "url",
    [
        "https://notevil.example/",
        "https://evil.example.org/",
        "https://example/",
        "https://www.sho.rt/",
        "https://sho.rt.example/",
        "http://10.0.0.10/",
        "http://110.0.0.1/",
        "http://127.0.0.2/",
    ],
)
def test_allows_look_alike_hosts_that_are_neither_own_nor_blocked(url: str) -> None:
    assert normalise_target(url, POLICY) == url


def test_policy_hosts_are_normalised_like_targets() -> None:
    policy = TargetPolicy(
        own_hosts=frozenset({"SHO.RT.", "Bücher.example"}),
        blocked_hosts=frozenset({"2001:DB8::1", "[2001:db8:0:0::2]", fullwidth("10.0.0.1")}),
    )
    assert policy.own_hosts == {"sho.rt", "xn--bcher-kva.example"}
    assert policy.blocked_hosts == {"[2001:db8::1]", "[2001:db8::2]", "10.0.0.1"}


@pytest.mark.parametrize("host", ["sho.rt:8080", "exa%mple.org", "https://sho.rt", "", "0x7f.1"])
def test_policy_refuses_hosts_that_are_not_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="own host"):
        TargetPolicy(own_hosts=frozenset({host}))


def test_policy_refuses_a_single_string_for_a_set() -> None:
    with pytest.raises(TypeError):
        TargetPolicy(own_hosts="sho.rt")  # type: ignore[arg-type]


# ---- the blocklist file --------------------------------------------------------------------


def test_blocklist_file_is_read_with_comments_and_blank_lines(tmp_path: Path) -> None:
    blocklist = tmp_path / "blocked-hosts"
    blocklist.write_text(
        "# phishing reports, 2024\n"
        "\n"
        "  Evil.Example.  \n"
        "bücher.example   # an IDN, stored as punycode\n"
        "192.0.2.66\n"
        "2001:db8::66\n"
        "   # indented comment\n",
        encoding="utf-8",
    )
    policy = TargetPolicy.from_files(["sho.rt", "Short.Example"], blocklist)
    assert policy.own_hosts == {"sho.rt", "short.example"}
    assert policy.blocked_hosts == {
        "evil.example",
        "xn--bcher-kva.example",
        "192.0.2.66",
        "[2001:db8::66]",
    }
    for url in (
        "https://www.evil.example/",
        "https://BÜCHER.example/",
        "https://a.xn--bcher-kva.example/",
        "http://192.0.2.66:8080/",
        "http://[2001:db8:0::66]/",
    ):
        with pytest.raises(TargetRejected, match="blocked"):
            normalise_target(url, policy)
    with pytest.raises(TargetRejected, match="this shortener"):
        normalise_target("https://short.example/", policy)
    assert normalise_target("https://notevil.example/", policy) == "https://notevil.example/"


def test_no_blocklist_file_blocks_nothing() -> None:
    policy = TargetPolicy.from_files(["sho.rt"], None)
    assert policy == TargetPolicy(own_hosts=frozenset({"sho.rt"}))
    assert policy.blocked_hosts == frozenset()


def test_empty_blocklist_file_blocks_nothing(tmp_path: Path) -> None:
    blocklist = tmp_path / "blocked-hosts"
    blocklist.write_text("# nothing yet\n\n")
    assert TargetPolicy.from_files([], blocklist).blocked_hosts == frozenset()


def test_missing_blocklist_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ValueError, match=re.escape(f"blocklist file {missing} does not exist")):
        TargetPolicy.from_files([], missing)


def test_unreadable_blocklist_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(f"blocklist file {tmp_path} cannot be read")):
        TargetPolicy.from_files([], tmp_path)  # a directory
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match=re.escape(f"blocklist file {binary} is not UTF-8")):
        TargetPolicy.from_files([], binary)


def test_invalid_blocklist_line_names_the_file_and_line(tmp_path: Path) -> None:
    blocklist = tmp_path / "blocked-hosts"
    blocklist.write_text("evil.example\n# ok\nhttps://bad.example/\n")
    with pytest.raises(
        ValueError, match=re.escape(f"blocklist file {blocklist}, line 3: 'https://bad")
    ):
        TargetPolicy.from_files([], blocklist)


@pytest.mark.parametrize(
    "url",
    [
        # Real hosts that IDNA2008 would refuse but every browser opens: not refused.
        "https://r3---sn-abc.googlevideo.com/videoplayback",
        "https://my_service.example/",
        "https://-edge.example/",
    ],
)
def test_ascii_hosts_are_taken_as_browsers_take_them(url: str) -> None:
    assert normalise_target(url) == url
