import pytest

from shortener.links.targets import MAX_URL_LENGTH, check_target_url


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/",
        "http://example.org/path?q=1#frag",
        "HTTPS://EXAMPLE.ORG",
        "https://example.org:8443/x",
        "https://[2001:db8::1]/",
    ],
)
def test_accepts_http_and_https(url: str) -> None:
    assert check_target_url(url) == url


def test_strips_leading_and_trailing_controls_and_spaces() -> None:
    assert check_target_url("\x00\x1f https://example.org/ \n") == "https://example.org/"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ftp://example.org/", "http or https"),
        ("javascript:alert(1)", "http or https"),
        ("example.org", "http or https"),
        ("https://user:pw@example.org/", "credentials"),
        ("https://user@example.org/", "credentials"),
        ("https:///path", "host"),
        ("https://example.org:99999/", "malformed"),
        ("https://exa mple.org/", "spaces or control"),
        ("https://example.org/a\x00b", "spaces or control"),
        ("https://example.org/" + "a" * MAX_URL_LENGTH, "at most"),
    ],
)
def test_rejects_unsafe_or_malformed_urls(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_target_url(url)
