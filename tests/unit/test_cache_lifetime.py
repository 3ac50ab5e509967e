from datetime import UTC, datetime, timedelta

from shortener.links.lookup import cache_seconds
from shortener.links.target import NoTarget, Target
from shortener.settings import Settings

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def link(url: str, expires_at: datetime | None) -> Target:
    return Target(7, url, expires_at, 302, False, False)


def test_link_without_expiry_is_cached_for_the_configured_time(settings: Settings) -> None:
    target = link("https://e.org", None)
    assert cache_seconds(target, settings, NOW) == settings.link_cache_seconds


def test_cache_never_outlives_the_link(settings: Settings) -> None:
    target = link("https://e.org", NOW + timedelta(seconds=42))
    assert cache_seconds(target, settings, NOW) == 42


def test_missing_and_expired_links_are_cached_briefly(settings: Settings) -> None:
    expired = link("https://e.org", NOW - timedelta(seconds=1))
    assert cache_seconds(NoTarget.NO_LINK, settings, NOW) == settings.missing_link_cache_seconds
    assert cache_seconds(expired, settings, NOW) == settings.missing_link_cache_seconds


def test_cache_encoding_round_trips() -> None:
    limited = Target(8, "https://e.org/x", NOW, 308, True, True)
    for target in (link("https://e.org/ü", None), link("https://e.org", NOW), limited):
        assert Target.decode(target.encode()) == target
