"""Settings of a Mastodon (fediverse) source: one instance."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from vaktpost.sources.base import DEFAULT_HASHTAGS, SourceBase


class MastodonSource(SourceBase):
    """One Mastodon instance: public hashtag and account timelines, no login."""

    kind: Literal["mastodon"]
    hashtags: list[str] = Field(default_factory=lambda: list(DEFAULT_HASHTAGS))
    accounts: list[str] = Field(default_factory=list, description="handles, user or user@domain")
    page_size: int = Field(default=40, ge=1, le=40)

    @field_validator("hashtags")
    @classmethod
    def _bare_tags(cls, tags: list[str]) -> list[str]:
        return [tag.lstrip("#").lower() for tag in tags]
