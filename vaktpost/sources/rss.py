"""Settings of the RSS/Atom source: news, blog and comment feeds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from vaktpost.sources.base import SourceBase, http_url


class RssSource(SourceBase):
    """RSS 2.0 and Atom feeds, fetched with conditional GET; entries already seen are skipped."""

    kind: Literal["rss"]
    base_url: str = Field(default="", description="resolves feed paths that are not full URLs; may stay empty")
    feeds: list[str] = Field(default_factory=list, description="feed URLs (or paths under base_url)")
    delay_s: float | None = Field(default=1.0, ge=0.0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value) if value else value
