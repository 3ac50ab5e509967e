"""The tag API's request and response bodies."""

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shortener.tags.names import InvalidTag, normalise_tag


class Tag(BaseModel):
    tag: str = Field(examples=["spring-sale"])
    links: int = Field(description="Your links with this tag.")
    clicks: int = Field(description="Their clicks, people and bots (ingested within seconds).")
    humans: int = Field(description="Their people's clicks (the links' `visits`).")


class TagList(BaseModel):
    items: list[Tag] = Field(description="Every tag of your links, in code point order.")


class TagRename(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "sale"}]})

    name: str = Field(
        max_length=100,
        description="The new name, normalised as a link's tags; an existing tag merges.",
    )

    @field_validator("name")
    @classmethod
    def _normalised(cls, name: str) -> str:
        try:
            return normalise_tag(name)
        except InvalidTag as invalid:
            raise ValueError(str(invalid)) from None
