"""The stats endpoints' responses."""

from datetime import date

from pydantic import BaseModel, Field


class Counts(BaseModel):
    clicks: int
    humans: int
    bots: int


class Day(BaseModel):
    day: date
    clicks: int
    bots: int


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


class LinkStats(ClickStats):
    code: str


class TagStats(ClickStats):
    tag: str
    links: int = Field(description="The tag's links now (deleted links' clicks are gone).")
