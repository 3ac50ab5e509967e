from shortener.links.target import Target
from shortener.redirects.routes import cache_control, with_forwarded_query
from shortener.settings import Settings


def target(redirect_type: int = 302, limited: bool = False) -> Target:
    return Target(1, "https://e.org/", None, redirect_type, False, limited)


def test_forwarded_query_is_appended_before_the_fragment() -> None:
    assert with_forwarded_query("https://e.org/p", "a=1") == "https://e.org/p?a=1"
    assert with_forwarded_query("https://e.org/p?x=2", "a=1") == "https://e.org/p?x=2&a=1"
    assert with_forwarded_query("https://e.org/p?x=2#top", "a=1") == "https://e.org/p?x=2&a=1#top"
    assert with_forwarded_query("https://e.org/p", "") == "https://e.org/p"


def test_cache_control_by_redirect_kind(settings: Settings) -> None:
    assert cache_control(target(302), settings) == "private, max-age=90"
    assert cache_control(target(307), settings) == "private, max-age=90"
    assert cache_control(target(301), settings) == "private, max-age=3600"
    assert cache_control(target(308), settings) == "private, max-age=3600"
    # A visit-limited link must reach us every time.
    assert cache_control(target(301, limited=True), settings) == "private, no-store"
