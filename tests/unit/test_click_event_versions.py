"""Old and new side by side (docs/clicks.md): during a rolling update an older api writes
events without the fields added since, and an older worker reads events with fields it
does not know. The worker's parser defaults the first and ignores the second."""

import pytest
from starlette.datastructures import Headers

from shortener.clicks.agents import agent_parser
from shortener.clicks.event import click_event
from shortener_worker.clicks.events import MalformedEvent, parse_click

SALT = "b" * 64


def encoded(fields: dict[str, str]) -> dict[bytes, bytes]:
    """As the worker reads an entry from Redis."""
    return {key.encode(): value.encode() for key, value in fields.items()}


def new_api_event(country: str = "DE") -> dict[str, str]:
    headers = Headers({"user-agent": "curl/8.5.0"})
    return click_event(
        7, 1_700_000_000_000, headers, "203.0.113.7", SALT, agent_parser(), country
    ).fields()


def test_the_new_api_writes_the_country_and_the_worker_reads_it() -> None:
    click = parse_click(b"1-0", encoded(new_api_event("DE")))
    assert (click.link_id, click.country) == (7, "DE")


def test_an_old_apis_event_without_country_gets_none() -> None:
    fields = new_api_event()
    del fields["country"]  # what the api wrote before countries
    click = parse_click(b"1-0", encoded(fields))
    assert click.country == ""
    assert click.visitor == new_api_event()["visitor"]


def test_fields_a_worker_does_not_know_are_ignored() -> None:
    """How the worker before countries took the new api's `country`: by name, each field it
    knows, and nothing else; the same holds for whatever a later api adds."""
    fields = {**new_api_event(), "device": "mobile", "x-later": "\xff"}
    click = parse_click(b"1-0", encoded(fields))
    assert click == parse_click(b"1-0", encoded(new_api_event()))


@pytest.mark.parametrize("country", ["de", "DEU", "D1", "\x00\x00"])
def test_a_country_present_but_invalid_is_malformed(country: str) -> None:
    with pytest.raises(MalformedEvent, match="country"):
        parse_click(b"1-0", encoded({**new_api_event(), "country": country}))


def test_an_empty_country_is_unknown() -> None:
    assert parse_click(b"1-0", encoded(new_api_event(""))).country == ""
