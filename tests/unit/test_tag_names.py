"""Tag normalisation (api/shortener/tags/names.py) and its place in the link bodies."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shortener.links.models import BulkDelete, LinkCreate, LinkUpdate
from shortener.links.store import StoredLink
from shortener.links.target import Target
from shortener.tags.names import (
    MAX_TAG_LENGTH,
    MAX_TAGS,
    TAG_PATTERN,
    InvalidTag,
    normalise_tag,
    normalise_tags,
)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("sale", "sale"),
        ("  Spring Sale ", "spring-sale"),
        ("a \t\n b", "a-b"),
        ("Q4:2026", "q4:2026"),
        ("v1.2_beta", "v1.2_beta"),
        ("x" * MAX_TAG_LENGTH, "x" * MAX_TAG_LENGTH),
    ],
)
def test_tags_are_trimmed_lowered_inner_whitespace_a_dash(raw: str, stored: str) -> None:
    assert normalise_tag(raw) == stored


@pytest.mark.parametrize(
    "raw", ["", "   ", "x" * (MAX_TAG_LENGTH + 1), "-lead", ".", "..", "a/b", "a?b", "é", "a\x00"]
)
def test_what_no_normalisation_makes_valid_is_refused(raw: str) -> None:
    with pytest.raises(InvalidTag):
        normalise_tag(raw)


def test_a_set_is_deduplicated_after_normalising_and_sorted() -> None:
    assert normalise_tags(["b", "A", " a ", "B"]) == ["a", "b"]


def test_at_most_ten_distinct_tags_but_duplicates_count_once() -> None:
    assert len(normalise_tags([f"t{i}" for i in range(MAX_TAGS)] * 3)) == MAX_TAGS
    with pytest.raises(InvalidTag):
        normalise_tags([f"t{i}" for i in range(MAX_TAGS + 1)])


@given(st.lists(st.text(max_size=40), max_size=30))
def test_normalised_sets_are_valid_sorted_unique_and_stable(raw: list[str]) -> None:
    try:
        tags = normalise_tags(raw)
    except InvalidTag:
        return
    assert tags == sorted(set(tags))
    assert len(tags) <= MAX_TAGS
    assert all(TAG_PATTERN.fullmatch(tag) for tag in tags)
    assert normalise_tags(tags) == tags  # normalising the stored form changes nothing


def field_of(error: ValidationError) -> set[str]:
    return {".".join(str(part) for part in e["loc"][:1]) for e in error.errors()}


def test_an_invalid_tag_names_the_tags_field() -> None:
    with pytest.raises(ValidationError) as create:
        LinkCreate.model_validate({"url": "https://example.org/", "tags": ["ok", "not ok?"]})
    assert field_of(create.value) == {"tags"}
    with pytest.raises(ValidationError) as update:
        LinkUpdate.model_validate({"tags": ["x" * 40]})
    assert field_of(update.value) == {"tags"}


def test_link_bodies_store_the_normalised_set_and_null_clears() -> None:
    create = LinkCreate.model_validate({"url": "https://example.org/", "tags": ["B", "a", "b"]})
    assert create.tags == ["a", "b"]
    assert LinkCreate.model_validate({"url": "https://example.org/"}).tags == []
    clear = LinkUpdate.model_validate({"tags": None})
    assert "tags" in clear.model_fields_set and clear.tags is None


def test_a_bulk_delete_names_exactly_one_selection() -> None:
    assert BulkDelete.model_validate({"tag": " Old Stuff "}).tag == "old-stuff"
    assert BulkDelete.model_validate({"codes": ["aB3dE9x"]}).codes == ["aB3dE9x"]
    for body in ({}, {"tag": "a", "codes": ["x"]}, {"codes": []}, {"codes": ["no/slash"]}):
        with pytest.raises(ValidationError):
            BulkDelete.model_validate(body)


def test_tags_stay_out_of_the_cached_redirect_entry() -> None:
    """Tagging never touches the redirect path: a tag change needs no cache drop."""
    now = datetime.now(UTC)
    stored = StoredLink(
        id=1, code="abc", url="https://example.org/", owner_id=1, is_alias=False,
        created_at=now, updated_at=now, expires_at=None, max_visits=None, visit_count=0,
        redirect_type=302, forward_query=False, allow_indexing=False, protected=False,
        tags=["secret-campaign"], visits=0,
    )  # fmt: skip
    target = Target.of(stored)
    assert "tags" not in Target.__dataclass_fields__
    assert "secret-campaign" not in target.encode()
