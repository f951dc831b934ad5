"""Settings of the generic forum source: any server-rendered forum, described by CSS selectors."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vaktpost.sources.base import Section, SourceBase


class ForumSelectors(Section):
    """Where things are on the forum's pages (CSS, with Scrapy's ::text and ::attr(...) extensions)."""

    thread_links: str = Field(description="on a listing page: links to threads, e.g. 'td.thread > a::attr(href)'")
    listing_next: str | None = Field(default=None, description="on a listing page: link to the next listing page")
    post: str = Field(description="on a thread page: one element per post")
    post_id: str = Field(description="inside a post: its stable id, e.g. '::attr(id)'")
    post_id_pattern: str = Field(default=r"(\d+)", description="regular expression whose first group is the id")
    author: str | None = Field(default=None, description="inside a post: the author's name")
    author_id: str | None = Field(default=None, description="inside a post: a stable author id (e.g. a profile link)")
    date: str = Field(description="inside a post: its date text")
    date_format: str = Field(
        default="swedish",
        description="'swedish' (Idag/Igår/I förrgår, '3 maj 12:00', 'YYYY-MM-DD HH:MM') or a strptime format",
    )
    text: str = Field(description="inside a post: the element holding the message")
    quote: str | None = Field(default=None, description="inside the message: quoted blocks, kept apart")
    title: str | None = Field(default=None, description="on a thread page: the thread title")
    next_page: str | None = Field(default=None, description="on a thread page: link to the next page")


class ForumSource(SourceBase):
    """A forum such as Familjeliv, added by configuration alone."""

    kind: Literal["forum"]
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", description="required: the forum's name, e.g. 'familjeliv'")
    start_urls: list[str] = Field(description="listing pages (or paths under base_url) to start from")
    selectors: ForumSelectors
    timezone: str = Field(default="Europe/Stockholm", description="the forum's local time")
    delay_s: float | None = Field(default=2.0, ge=0.0)
