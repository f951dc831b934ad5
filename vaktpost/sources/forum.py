"""Settings of the generic forum source: any server-rendered forum, described by CSS selectors.

A municipality adds a forum such as Familjeliv or a phpBB board without writing code: it names where the
thread links, posts, authors, dates and quotes are on the forum's pages. Every selector and regular
expression is compiled when the settings load, so a typo fails fast with its key named, not at 3 a.m.

Selectors are CSS with Scrapy's ``::text`` and ``::attr(name)`` extensions and are matched inside their
context (a listing row, a post). A value selector that names elements rather than text takes the
elements' whole text (or, for links, their ``href``), so ``author = ".nick"`` works like ``".nick::text"``.
"""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator

from vaktpost.sources.base import Section, SourceBase

_ELEMENT_SELECTORS = {"listing_row", "post", "text", "quote", "quote_header"}
"""Selectors that must name elements: the spider reads structure inside them, not a string."""


def _compile_css(value: str) -> None:
    """Raise ValueError unless ``value`` is a CSS selector Scrapy can run (parsel's dialect)."""
    from cssselect import SelectorError  # both come with Scrapy; imported here, only to validate
    from parsel.csstranslator import HTMLTranslator

    if not value.strip():
        raise ValueError("empty CSS selector")
    try:
        HTMLTranslator().css_to_xpath(value)
    except SelectorError as err:  # a syntax error, or a pseudo-element such as ::foo that Scrapy lacks
        raise ValueError(f"not a valid CSS selector ({type(err).__name__}: {err})") from None


class ForumSelectors(Section):
    """Where things are on the forum's pages (CSS, with Scrapy's ::text and ::attr(...) extensions)."""

    # -- listing pages (the start URLs and the pages after them) --
    listing_row: str | None = Field(
        default=None,
        description="on a listing page: one element per thread, e.g. '#forum-threadlist tr'; needed for the "
        "reply count and date of each thread",
    )
    thread_link: str = Field(
        description="on a listing page (inside a row if listing_row is set): the link to the thread, "
        "e.g. 'td.thread > a::attr(href)'"
    )
    listing_replies: str | None = Field(
        default=None, description="inside a listing row: the reply count; threads whose count is unchanged are skipped"
    )
    listing_date: str | None = Field(
        default=None,
        description="inside a listing row: the date of the thread's NEWEST post (not when it started); lets a "
        "first crawl skip threads older than the horizon and stops paging through old listings",
    )
    listing_next: str | None = Field(
        default=None,
        description="on a listing page: the link to the next listing page, e.g. '.paginator li.selected + li a'",
    )
    # -- thread pages --
    title: str | None = Field(default=None, description="on a thread page: the thread title, e.g. 'h1::text'")
    post: str = Field(description="on a thread page: one element per post, e.g. 'div.post'")
    post_id: str = Field(
        description="inside a post: its id, e.g. '::attr(id)' (the post element's own id); see post_id_pattern"
    )
    permalink: str | None = Field(
        default=None,
        description="inside a post: a link to the post; if unset the post's URL is the page's with #<post's id attr>",
    )
    author: str | None = Field(default=None, description="inside a post: the author's displayed name")
    author_id: str | None = Field(
        default=None,
        description="inside a post: a stable author id, e.g. a profile link (see author_id_pattern); if unset the "
        "normalised name is the id",
    )
    date: str = Field(description="inside a post: its date, e.g. '.entry-info .date::text, .forum-top-date::text'")
    text: str = Field(description="inside a post: the element holding the message, e.g. '.message-body'")
    quote: str | None = Field(
        default=None,
        description="inside the message: quoted blocks of others' text, kept apart in quoted_text, e.g. '.quote'",
    )
    quote_header: str | None = Field(
        default=None,
        description="inside a quote: elements naming who is quoted, removed from quoted_text, e.g. 'cite'",
    )
    quote_post_id: str | None = Field(
        default=None,
        description="inside a quote: the quoted post's id (read with post_id_pattern), kept as reply_to, e.g. "
        "'cite a::attr(data-post-id)'",
    )
    next_page: str | None = Field(default=None, description="on a thread page: the link to the thread's next page")

    @field_validator("*")
    @classmethod
    def _valid_css(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Compile every selector when the settings load; pydantic names the key in the error."""
        if value is None:
            return value
        _compile_css(value)
        if info.field_name in _ELEMENT_SELECTORS and "::" in value:
            raise ValueError("must select elements, without ::text or ::attr(...)")
        return value

    @model_validator(mode="after")
    def _rows_for_row_values(self) -> ForumSelectors:
        if self.listing_row is None and (self.listing_replies or self.listing_date):
            raise ValueError("selectors.listing_replies and selectors.listing_date need selectors.listing_row")
        return self


def _regex(value: str | None, *, group: bool) -> str | None:
    if value is None:
        return None
    try:
        compiled = re.compile(value)
    except re.error as err:
        raise ValueError(f"not a valid regular expression ({err})") from None
    if group and compiled.groups < 1:
        raise ValueError("needs a (group) around the id")
    return value


class ForumSource(SourceBase):
    """A forum such as Familjeliv, added by configuration alone (see ForumSelectors)."""

    kind: Literal["forum"]
    name: str = Field(
        pattern=r"^[a-z][a-z0-9_-]*$", description="required: the forum's name, e.g. 'familjeliv'; prefixes post ids"
    )
    start_urls: list[str] = Field(
        min_length=1, description="listing pages (full URLs or paths under base_url), re-read every run"
    )
    selectors: ForumSelectors
    thread_id_pattern: str = Field(
        default=r"(\d+)",
        description="regular expression on a thread link's path and query; its first group is the thread id "
        r"(Familjeliv: '/thread/(\d+)', phpBB: '[?&]t=(\d+)')",
    )
    post_id_pattern: str = Field(
        default=r"(\d+)", description="regular expression on the post_id value; its first group is the numeric id"
    )
    post_id_scope: Literal["forum", "thread"] = Field(
        default="forum",
        description="'forum': post ids are unique site-wide (id '<name>:<id>'); 'thread': only within a thread, "
        "e.g. a position (id '<name>:<thread id>-<n>')",
    )
    author_id_pattern: str | None = Field(
        default=None, description=r"regular expression on the author_id value, first group kept, e.g. 'u=(\d+)'"
    )
    anonymous_authors: list[str] = Field(
        default_factory=lambda: ["Anonym", "Gäst"],
        description="displayed names that are not one person: such posts get no author id",
    )
    date_format: str = Field(
        default="swedish",
        description="'swedish' (Idag/Igår/I förrgår, '3 maj 12:00', 'YYYY-MM-DD HH:MM'), 'iso' (ISO 8601, e.g. "
        "a <time datetime> attribute) or a strptime format such as '%d.%m.%Y %H:%M'",
    )
    timezone: str = Field(default="Europe/Stockholm", description="the forum's local time, for dates without an offset")
    quote_header_pattern: str | None = Field(
        default=None,
        description="regular expression removed from the start of each quote, e.g. Familjeliv's "
        r"'<nick> skrev 2026-03-01 12:00:' header: '^[^\n]*\bskrev\b[^\n]*:\s*'",
    )
    ignore_query_params: list[str] = Field(
        default_factory=lambda: ["sid", "PHPSESSID"],
        description="query parameters dropped from every followed link (session ids make URLs unstable)",
    )
    max_listing_pages: int = Field(default=5, ge=1, description="listing pages read per start URL and run, at most")
    delay_s: float | None = Field(default=2.0, ge=0.0)

    @field_validator("thread_id_pattern", "post_id_pattern", "author_id_pattern")
    @classmethod
    def _id_pattern(cls, value: str | None) -> str | None:
        return _regex(value, group=True)

    @field_validator("quote_header_pattern")
    @classmethod
    def _header_pattern(cls, value: str | None) -> str | None:
        return _regex(value, group=False)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; expected an IANA name such as 'Europe/Stockholm'") from None
        return value

    @field_validator("date_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in ("swedish", "iso") and "%" not in value:
            raise ValueError("expected 'swedish', 'iso' or a strptime format with % directives")
        return value

    @field_validator("start_urls")
    @classmethod
    def _urls_or_paths(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.startswith(("http://", "https://", "/")):
                raise ValueError(f"{value!r}: expected a full http(s) URL or a path starting with /")
        return values
