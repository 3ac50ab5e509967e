"""The stats endpoints' responses."""

from datetime import date

from pydantic import BaseModel, Field

VISITORS = (
    "People's distinct visitors, counted per UTC day (the visitor hash's salt changes every"
    " day, by design): over several days, the sum of each day's (visitor-days)."
)


class Counts(BaseModel):
    clicks: int
    humans: int
    bots: int
    visitors: int = Field(description=VISITORS)


class Country(BaseModel):
    country: str = Field(
        description='ISO 3166-1 alpha-2 code ("DE"); "" unknown (no database, no match).'
    )
    clicks: int


class Day(BaseModel):
    day: date
    clicks: int
    bots: int
    visitors: int = Field(description="People's distinct visitors that day.")
    top_countries: list[Country] = Field(description="Up to 3, most clicks first.")


class Referrer(BaseModel):
    host: str = Field(description='The referring host; "" for none (typed, bookmarked, apps).')
    clicks: int


class ClickStats(BaseModel):
    """Clicks over a set of links: one link's, or a tag's (the sum over its links)."""

    # `from` is a Python keyword: the field is from_, serialised as "from".
    from_: date = Field(serialization_alias="from")
    to: date
    all_time: Counts
    in_range: Counts
    days: list[Day] = Field(description="Every day of the range, zero-filled, oldest first.")
    top_referrers: list[Referrer] = Field(description="Up to 10, most clicks first, in range.")
    top_countries: list[Country] = Field(description="Up to 10, most clicks first, in range.")


class LinkStats(ClickStats):
    code: str


class TagStats(ClickStats):
    """A tag's visitors are the sum of its links' (per link and day): a person who followed
    two of its links is two."""

    tag: str
    links: int = Field(description="The tag's links now (deleted links' clicks are gone).")
