"""Settings of the Flashback Forum source."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vaktpost.sources.base import DEFAULT_SEARCH_TERMS, SourceBase


class FlashbackSource(SourceBase):
    """Flashback Forum: watched subforums and threads, crawled page by page (guests see 12 posts a page)."""

    kind: Literal["flashback"]
    base_url: str = "https://www.flashback.org"
    forums: list[int] = Field(default_factory=list, description="subforum ids, as in /f<id>")
    threads: list[int] = Field(default_factory=list, description="thread ids, as in /t<id>")
    search_terms: list[str] = Field(
        default_factory=list, description=f"keyword searches (/sok/), e.g. {DEFAULT_SEARCH_TERMS[:3]}"
    )
    delay_s: float | None = Field(default=5.0, ge=0.0)
    posts_per_page: int = Field(default=12, ge=1)
