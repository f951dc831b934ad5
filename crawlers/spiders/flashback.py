"""Flashback Forum: subforum listings and keyword searches -> changed threads -> every new page of them.

Markup as documented in docs/sources (bootstrap layout): posts are ``div.post`` holding
``div.post_message#post_message_<id>``; post ids are global and increase with time, so they are the
incremental key. Quotes go to ``quoted_text``: a quoted doxx is not a new doxx by the quoting poster.
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import scrapy
from lxml import html as lxml_html
from parsel import Selector
from scrapy.http import Response

from crawlers.dates import UnparsableDateError, parse_swedish_datetime
from crawlers.html_text import drop_keeping_tail, html_to_text
from crawlers.pipelines import AUTHOR_FIELD
from crawlers.spiders.base import SourceSpider
from vaktpost.settings import FlashbackSource

_THREAD_URL = re.compile(r"/t(?P<thread>\d+)(?:p(?P<page>\d+))?")
_USER_URL = re.compile(r"/u(?P<user>\d+)")
_QUOTED_POST = re.compile(r"#?p(?P<post>\d+)")
_QUOTE_HEADER = re.compile(r"^\s*(citat:\s*)?(ursprungligen postat av[^\n]*)?\s*", re.I)
_QUOTE_SELECTORS = ".post-bbcode-quote-wrapper, .post-quote-holder"
MAX_SEARCH_PAGES = 10  # a search is a net for new threads, not an archive walk


class FlashbackSpider(SourceSpider):
    kind = "flashback"
    source: FlashbackSource

    async def start(self) -> AsyncIterator[Any]:
        for forum in self.source.forums:
            yield self._listing_request(forum, 1)
        for thread in self.source.threads:
            known = self.state.get("threads", {}).get(str(thread), {})
            yield self._thread_request(thread, int(known.get("last_page", 1)), replies=None)
        for term in self.source.search_terms:
            yield self._search_request(term, 1)

    def _listing_request(self, forum: int, page: int) -> scrapy.Request:
        path = f"/f{forum}" if page == 1 else f"/f{forum}p{page}"
        return scrapy.Request(
            self.url(path),
            callback=self.parse_listing,
            errback=self.on_error,
            cb_kwargs={"forum": forum, "page": page},
        )

    def _thread_request(self, thread: int, page: int, replies: int | None) -> scrapy.Request:
        path = f"/t{thread}" if page <= 1 else f"/t{thread}p{page}"
        return scrapy.Request(
            self.url(path),
            callback=self.parse_thread,
            errback=self.on_error,
            cb_kwargs={"thread": thread, "page": max(page, 1), "replies": replies},
        )

    def _search_request(self, term: str, page: int) -> scrapy.Request:
        query = urlencode({"query": term, "so": "pd", "sp": "1", "search_post": "1", "page": str(page)})
        return scrapy.Request(
            self.url(f"/sok/?{query}"),
            callback=self.parse_search,
            errback=self.on_error,
            cb_kwargs={"term": term, "page": page},
        )

    # -- keyword search ----------------------------------------------------------------------------

    def parse_search(self, response: Response, term: str, page: int) -> Iterator[Any]:
        """Search hits lead to the thread pages holding them (snippets are never stored as posts)."""
        if (wall := self.blocked(response)) or response.status >= 400:
            self.fail(wall or f"http_{response.status}", response)
            return
        if not response.css("#posts"):
            self.fail("unexpected_markup", response, "no #posts on a search page")
            return
        searches = self.next_state.setdefault("searches", {})
        seen = int(self.state.get("searches", {}).get(term, 0))
        reached_known = False
        for hit in response.css("#posts div.post[id^=post]"):
            post_id = int(hit.attrib["id"].removeprefix("post"))
            searches[term] = max(int(searches.get(term, 0)), post_id)
            if post_id <= seen:
                reached_known = True  # hits are newest first: the rest were found before
                continue
            yield scrapy.Request(self.url(f"/p{post_id}"), callback=self.parse_search_hit, errback=self.on_error)
        more = response.css("a[rel=next]::attr(href)").get()
        if more and not reached_known and page < MAX_SEARCH_PAGES:
            yield self._search_request(term, page + 1)

    def parse_search_hit(self, response: Response) -> Iterator[Any]:
        """A /p<id> permalink redirects into its thread page: read that page and the thread after it."""
        match = _THREAD_URL.search(response.url)
        if not match:
            self.fail("unexpected_redirect", response, "a post permalink did not lead to a thread page")
            return
        yield from self.parse_thread(response, int(match["thread"]), int(match["page"] or 1), replies=None)

    # -- subforum listings -------------------------------------------------------------------------

    def parse_listing(self, response: Response, forum: int, page: int) -> Iterator[Any]:
        if (wall := self.blocked(response)) or response.status >= 400:
            self.fail(wall or f"http_{response.status}", response)
            return
        if not response.css("table#threadslist"):
            self.fail("unexpected_markup", response, "no table#threadslist on a subforum page")
            return
        fetched_at = datetime.now(UTC)
        forum_state = self.next_state.setdefault("forums", {}).setdefault(str(forum), {})
        previous = self.state.get("forums", {}).get(str(forum), {}).get("newest_activity")  # the last run's
        watermark = datetime.fromisoformat(previous) if previous else self.horizon
        oldest_activity: datetime | None = None
        for row in response.css("table#threadslist tr"):
            link = row.css("a[id^=thread_title_]")
            if not link:
                continue  # header rows and "Flyttad" stubs of moved threads
            if "flyttad" in " ".join(row.css("td.td_title ::text").getall()).lower():
                continue
            thread = int(link.attrib["id"].removeprefix("thread_title_"))
            sticky = "tr_sticky" in row.attrib.get("class", "")
            replies = _first_int(" ".join(row.css("td.td_replies ::text").getall()))
            activity = self._last_activity(row, fetched_at, response)
            if activity is not None and not sticky:
                oldest_activity = activity if oldest_activity is None else min(oldest_activity, activity)
                newest = forum_state.get("newest_activity")
                if newest is None or activity > datetime.fromisoformat(newest):
                    forum_state["newest_activity"] = activity.isoformat()
            known = self.state.get("threads", {}).get(str(thread))
            if known is not None and replies is not None and known.get("replies") == replies:
                continue  # nothing new in this thread
            if known is None and activity is not None and activity < self.horizon:
                continue  # older than a first crawl reaches
            yield self._thread_request(thread, int(known.get("last_page", 1)) if known else 1, replies)
        if (
            oldest_activity is not None
            and oldest_activity >= watermark
            and self._has_page(response, "f", forum, page + 1)
        ):
            yield self._listing_request(forum, page + 1)

    def _last_activity(self, row: Selector, fetched_at: datetime, response: Response) -> datetime | None:
        text = " ".join(row.css("td.td_last_post ::text").getall())
        if not text.strip():
            return None
        try:
            return parse_swedish_datetime(text, fetched_at)
        except UnparsableDateError as err:
            self.fail("unparsable_date", response, str(err))
            return None

    # -- thread pages ------------------------------------------------------------------------------

    def parse_thread(self, response: Response, thread: int, page: int, replies: int | None) -> Iterator[Any]:
        if (wall := self.blocked(response)) or response.status >= 400:
            self.fail(wall or f"http_{response.status}", response)
            return
        if not response.css("#posts"):
            self.fail("unexpected_markup", response, "no #posts on a thread page")
            return
        fetched_at = datetime.now(UTC)
        page = _page_of(response.url, default=page)
        title = _title(response)
        thread_state = self.next_state.setdefault("threads", {}).setdefault(str(thread), {})
        seen_max = int(self.state.get("threads", {}).get(str(thread), {}).get("max_post", 0))
        for container in response.css("div.post"):
            messages = container.css("div.post_message[id^=post_message_]")
            if not messages:
                continue  # ads and banners sit between posts
            message = messages[0]
            post_id = int(message.attrib["id"].removeprefix("post_message_"))
            if post_id <= seen_max:
                continue
            item = self._post(container, message, post_id, thread, title, fetched_at, response)
            if item is not None:
                thread_state["max_post"] = max(int(thread_state.get("max_post", 0)), post_id)
                yield item
        thread_state["last_page"] = max(int(thread_state.get("last_page", 1)), page)
        if self._has_page(response, "t", thread, page + 1):
            yield self._thread_request(thread, page + 1, replies)
        elif replies is not None:
            thread_state["replies"] = replies  # only once the last page is read

    def _post(
        self,
        container: Selector,
        message: Selector,
        post_id: int,
        thread: int,
        title: str | None,
        fetched_at: datetime,
        response: Response,
    ) -> dict[str, Any] | None:
        heading = " ".join(container.css("div.post-heading ::text").getall())
        try:
            created_at = parse_swedish_datetime(heading, fetched_at)
        except UnparsableDateError as err:
            self.fail("unparsable_date", response, f"post {post_id}: {err}")
            return None
        author = container.css("a.post-user-username")
        author_name = " ".join(author.css("::text").getall()).strip() or None
        user = _USER_URL.search(author.attrib.get("href", "")) if author else None
        if author_name is None:
            author_name = " ".join(container.css(".post-user-username ::text").getall()).strip() or None
        text, quoted, quoted_post = _split_quotes(message)
        return self.post(
            id=f"flashback:{post_id}",
            url=self.url(f"/p{post_id}"),
            author_name=author_name,
            title=title,
            text=text,
            quoted_text=quoted,
            created_at=created_at.isoformat(),
            thread_id=f"flashback:t{thread}",
            reply_to=f"flashback:{quoted_post}" if quoted_post else None,
            **{AUTHOR_FIELD: f"u{user['user']}" if user else None},
        )

    def _has_page(self, response: Response, prefix: str, number: int, page: int) -> bool:
        wanted = f"/{prefix}{number}p{page}"
        hrefs = response.css("a::attr(href), link[rel=next]::attr(href)").getall()
        return any(href.split("#")[0].split("?")[0].endswith(wanted) for href in hrefs)


def _split_quotes(message: Selector) -> tuple[str, str | None, int | None]:
    """The poster's own text, the text they quoted (kept apart), and the id of the first quoted post."""
    own = copy.deepcopy(message.root)
    quotes: list[str] = []
    quoted_post: int | None = None
    for wrapper in own.cssselect(_QUOTE_SELECTORS):
        if any(ancestor in own.cssselect(_QUOTE_SELECTORS) for ancestor in wrapper.iterancestors()):
            continue  # nested quotes are part of their outer quote
        for link in wrapper.cssselect("a[href]"):
            match = _QUOTED_POST.search(link.get("href", ""))
            if match and quoted_post is None:
                quoted_post = int(match["post"])
        quotes.append(_QUOTE_HEADER.sub("", html_to_text(_without_images(wrapper)), count=1))
    for wrapper in list(own.cssselect(_QUOTE_SELECTORS)):
        drop_keeping_tail(wrapper)
    text = html_to_text(_without_images(own))
    quoted = "\n\n".join(q for q in quotes if q) or None
    return text, quoted, quoted_post


def _without_images(element: lxml_html.HtmlElement) -> lxml_html.HtmlElement:
    clone = copy.deepcopy(element)
    for image in clone.iter("img"):
        drop_keeping_tail(image)
    return clone


def _title(response: Response) -> str | None:
    heading = " ".join(response.css("h1 ::text").getall()).strip()
    if heading:
        return heading
    title = response.css("title::text").get("")
    return title.removesuffix(" - Flashback Forum").strip() or None


def _page_of(url: str, default: int) -> int:
    match = _THREAD_URL.search(url)
    return int(match["page"]) if match and match["page"] else default


def _first_int(text: str) -> int | None:
    match = re.search(r"\d[\d\s\xa0]*", text)
    return int(re.sub(r"\D", "", match.group())) if match else None
