"""Settings of the RSS/Atom source: news, blog and comment feeds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from vaktpost.sources.base import SourceBase, http_url


class RssSource(SourceBase):
    """RSS 2.0 and Atom feeds, fetched with conditional GET; entries already seen are skipped."""

    kind: Literal["rss"]
    base_url: str = Field(default="", description="resolves feed paths that are not full URLs; may stay empty")
    feeds: list[str] = Field(default_factory=list, description="feed URLs (or paths under base_url)")
    delay_s: float | None = Field(default=1.0, ge=0.0)
    seen_per_feed: int = Field(
        default=1000,
        ge=10,
        description="entry keys remembered per feed to skip entries already collected; feeds hold the latest N "
        "entries (DN: ~94, WordPress: 10 by default), so this only has to exceed N",
    )
    follow_comment_feeds: bool = Field(
        default=True,
        description="fetch an entry's own comment feed (wfw:commentRss, Atom rel=replies) when its comment count "
        "(slash:comments, thr:total) grew: a blog's site-wide comment feed holds only the latest few comments. "
        "A feed with watched counts is fetched without conditional GET (WordPress answers 304 to new comments)",
    )
    max_feed_pages: int = Field(
        default=5, ge=1, description='pages of a paged feed (rel="next", RFC 5005) read in one crawl, per feed'
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value) if value else value

    @model_validator(mode="after")
    def _paths_need_base_url(self) -> RssSource:
        paths = [feed for feed in self.feeds if not feed.startswith(("http://", "https://"))]
        if paths and not self.base_url:
            raise ValueError(f"feeds {paths} are paths, not URLs: set base_url or give full URLs")
        return self
