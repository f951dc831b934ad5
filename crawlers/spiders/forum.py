"""Any server-rendered forum (Familjeliv, phpBB boards, ...): listing pages -> changed threads -> new posts.

Nothing here knows a particular forum: every place on a page comes from the source's CSS selectors
(vaktpost/sources/forum.py). Where to start: the configured listing pages, re-read every run, and the
listing pages after them while they still show activity newer than the last run. How to follow: a thread
whose listed reply count is unchanged is skipped; a known thread resumes at the last page read (from its
first page again if that page has gone), a new one starts at its first page. What to extract: one Post per
post element, the poster's own words in ``text`` and quoted blocks in ``quoted_text``.

Incremental key: per thread the highest post id read (site-wide ids, or positions within the thread when
``post_id_scope = "thread"``), so ids must be numbers that grow with time.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import scrapy
from parsel import Selector, SelectorList
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawlers.dates import STOCKHOLM, parse_swedish_datetime
from crawlers.html_text import drop_keeping_tail, html_to_text
from crawlers.pipelines import AUTHOR_FIELD
from crawlers.spiders.base import SourceSpider
from vaktpost.sources import ForumSource

_INVISIBLE = dict.fromkeys(map(ord, "\xad\u200b\u200c\u200d\u2060\ufeff"))  # soft hyphen, zero-width chars
_INT = re.compile(r"\d[\d\s\xa0.,']*")


class ForumSpider(SourceSpider):
    kind = "forum"
    source: ForumSource

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._thread_id = re.compile(self.source.thread_id_pattern)
        self._post_id = re.compile(self.source.post_id_pattern)
        self._author_id = re.compile(self.source.author_id_pattern) if self.source.author_id_pattern else None
        header = self.source.quote_header_pattern
        self._quote_header = re.compile(header) if header else None
        self._tz = ZoneInfo(self.source.timezone)
        self._anonymous = {_nick(name).casefold() for name in self.source.anonymous_authors}
        self._scheduled: set[str] = set()  # threads already queued in this crawl (listings overlap)
        self._parsed: set[str] = set()  # thread pages read in this crawl: no page is read twice
        self._held: dict[str, int] = {}  # per thread, the first post id that could not be read in this crawl

    async def start(self) -> AsyncIterator[Any]:
        for start in self.source.start_urls:
            url = start if start.startswith(("http://", "https://")) else self.url(start)
            yield self._listing_request(self._canonical(url), key=start, page=1)

    def _listing_request(self, url: str, key: str, page: int) -> scrapy.Request:
        return scrapy.Request(
            url, callback=self.parse_listing, errback=self._on_error, cb_kwargs={"key": key, "page": page}
        )

    def _thread_request(
        self, url: str, thread: str, replies: int | None, first_url: str, resumed: bool
    ) -> scrapy.Request:
        # dont_filter: after a fallback to page 1 the walk may pass URLs asked for before; _parsed stops loops.
        return scrapy.Request(
            url,
            callback=self.parse_thread,
            errback=self._on_error,
            dont_filter=True,
            cb_kwargs={"thread": thread, "replies": replies, "first_url": first_url, "resumed": resumed},
        )

    def _on_error(self, failure: Failure) -> None:
        """A request robots.txt forbids is its own reason, not a download error."""
        if isinstance(failure.value, IgnoreRequest) and "robots" in failure.getErrorMessage().lower():
            request = getattr(failure, "request", None)
            self.fail("robots_disallowed", request.url if request is not None else "?")
            return
        self.on_error(failure)

    # -- listing pages -----------------------------------------------------------------------------

    def parse_listing(self, response: Response, key: str, page: int) -> Iterator[Any]:
        if not self._readable(response):
            return
        selectors = self.source.selectors
        fetched_at = datetime.now(UTC)
        entries: list[tuple[str, str, int | None, datetime | None]] = []
        rows: list[Selector] = list(response.css(selectors.listing_row)) if selectors.listing_row else []
        links = (
            [(row, _attr_or_text(row, selectors.thread_link, "href")) for row in rows]
            if selectors.listing_row
            else [(None, link) for link in _all_links(response, selectors.thread_link)]
        )
        for row, link in links:
            if not link:
                continue  # header and separator rows
            url = self._canonical(response.urljoin(link))
            thread = self._thread_of(url)
            if thread is None:
                continue
            replies = activity = None
            if row is not None and selectors.listing_replies:
                replies = _first_int(_text(row, selectors.listing_replies))
            if row is not None and selectors.listing_date:
                activity = self._listing_date(row, selectors.listing_date, fetched_at, response)
            entries.append((thread, url, replies, activity))
        if not entries:
            self.fail("unexpected_markup", response, "no thread links (selectors.thread_link, thread_id_pattern)")
            return
        committed = self.state.get("listings", {}).get(key, {}).get("newest")
        watermark = datetime.fromisoformat(committed) if committed else self.horizon
        for thread, url, replies, activity in entries:
            if activity is not None:
                listing_state = self.next_state.setdefault("listings", {}).setdefault(key, {})
                newest = listing_state.get("newest")
                if newest is None or activity > datetime.fromisoformat(newest):
                    listing_state["newest"] = activity.isoformat()
            known = self.state.get("threads", {}).get(thread)
            if known is not None and replies is not None and known.get("replies") == replies:
                continue  # nothing new in this thread
            if known is None and activity is not None and activity < self.horizon:
                continue  # older than a first crawl reaches
            if thread in self._scheduled:
                continue
            self._scheduled.add(thread)
            resume = self._absolute(known["last_url"]) if known and known.get("last_url") else None
            yield self._thread_request(resume or url, thread, replies, first_url=url, resumed=bool(resume))
        dated = [activity for _, _, _, activity in entries if activity is not None]
        # Listings show the newest activity first (stickies on top): once the last row is older than what
        # the last run saw, later pages hold nothing new.
        if selectors.listing_next and page < self.source.max_listing_pages and (not dated or dated[-1] >= watermark):
            following = _attr_or_text(response, selectors.listing_next, "href")
            if following:
                url = self._canonical(response.urljoin(following))
                if url != self._canonical(response.url):
                    yield self._listing_request(url, key, page + 1)

    def _listing_date(self, row: Selector, css: str, fetched_at: datetime, response: Response) -> datetime | None:
        text = _text(row, css)
        if not text:
            return None
        try:
            return self._parse_date(text, fetched_at)
        except ValueError:  # the message would quote the page's text: never logged
            self.fail("unparsable_date", response, f"listing row, date_format {self.source.date_format!r}")
            return None

    # -- thread pages ------------------------------------------------------------------------------

    def parse_thread(
        self, response: Response, thread: str, replies: int | None, first_url: str, resumed: bool
    ) -> Iterator[Any]:
        selectors = self.source.selectors
        page_url = self._canonical(response.url)
        gone = response.status in (404, 410) or (
            isinstance(response, TextResponse) and response.status < 400 and not response.css(selectors.post)
        )
        if resumed and gone and not self.blocked(response) and first_url != page_url:
            # Deleted posts shift pagination: the page read last time may be gone. Read from the start;
            # post ids already seen are still skipped.
            self.logger.info("thread %s: %s is gone, reading from %s", thread, page_url, first_url)
            yield self._thread_request(first_url, thread, replies, first_url, resumed=False)
            return
        if not self._readable(response):
            return
        containers = response.css(selectors.post)
        if not containers:
            self.fail("unexpected_markup", response, "no posts (selectors.post)")
            return
        self._parsed.add(page_url)
        fetched_at = datetime.now(UTC)
        identified = [(native, c) for c in containers if (native := self._native_id(c)) is not None]
        if not identified:  # containers without an id are ads and banners; a page of only those is not
            self.fail("unexpected_markup", response, "no post ids (selectors.post_id, post_id_pattern)")
            return
        known = self.state.get("threads", {}).get(thread)
        seen_max: int | None = int(known["max_post"]) if known and "max_post" in known else None
        title = _text(response, selectors.title) if selectors.title else None
        already_held = thread in self._held
        held = self._held.get(thread)
        for native, container in identified:
            if seen_max is not None and native <= seen_max:
                continue
            item = self._post(container, native, thread, title or None, page_url, fetched_at, response)
            if item is None:
                held = native if held is None else min(held, native)  # counted, and tried again next run
                continue
            if known is None and datetime.fromisoformat(item["created_at"]) < self.horizon:
                continue  # a first crawl of this thread keeps only what is newer than the horizon
            yield item
        thread_state = self.next_state.setdefault("threads", {}).setdefault(thread, {})
        if held is None:
            newest = max(native for native, _ in identified)
            thread_state["max_post"] = max(int(thread_state.get("max_post", newest)), newest)
        else:
            # A post that could not be read holds the watermark below it: the next run reads it again
            # (and re-yields the posts after it; the store keeps one copy per id).
            self._held[thread] = held
            thread_state["max_post"] = held - 1
        if not already_held:
            thread_state["last_url"] = self._relative(page_url)
        following = _attr_or_text(response, selectors.next_page, "href") if selectors.next_page else None
        next_url = self._canonical(response.urljoin(following)) if following else None
        if next_url and next_url != page_url and next_url not in self._parsed:
            yield self._thread_request(next_url, thread, replies, first_url, resumed=False)
        elif replies is not None and held is None:
            thread_state["replies"] = replies  # only once the last page is read

    def _post(
        self,
        container: Selector,
        native: int,
        thread: str,
        title: str | None,
        page_url: str,
        fetched_at: datetime,
        response: Response,
    ) -> dict[str, Any] | None:
        selectors = self.source.selectors
        name = self.source.name
        post_id = self._full_id(thread, native)
        try:
            created_at = self._parse_date(_text(container, selectors.date), fetched_at)
        except ValueError:  # the message would quote the page's text: never logged
            self.fail("unparsable_date", response, f"post {post_id}, date_format {self.source.date_format!r}")
            return None
        messages = container.css(selectors.text)
        if not messages:
            self.fail("unexpected_markup", response, f"post {post_id}: no text (selectors.text)")
            return None
        text, quoted, quoted_post = self._split_quotes(messages[0])
        author_name = _nick(_text(container, selectors.author)) if selectors.author else ""
        return self.post(
            source=name,
            id=post_id,
            url=self._permalink(container, page_url, response),
            author_name=author_name or None,
            title=title,
            text=text,
            quoted_text=quoted,
            created_at=created_at.isoformat(),
            thread_id=f"{name}:t{thread}",
            reply_to=self._full_id(thread, quoted_post) if quoted_post is not None else None,
            **{AUTHOR_FIELD: self._author(container, author_name)},
        )

    def _full_id(self, thread: str, native: int) -> str:
        if self.source.post_id_scope == "thread":
            return f"{self.source.name}:{thread}-{native}"
        return f"{self.source.name}:{native}"

    def _native_id(self, container: Selector, css: str | None = None) -> int | None:
        """A post's numeric id: ``css`` (default: selectors.post_id) read through post_id_pattern (a bare
        number is taken as it is: quote links often carry just the id)."""
        value = _attr_or_text(container, css or self.source.selectors.post_id, "id")
        match = self._post_id.search(value) if value else None
        if match is None:
            return int(value) if value and value.isdigit() else None
        digits = next((group for group in match.groups() if group is not None), "")
        return int(digits) if digits.isdigit() else None

    def _author(self, container: Selector, author_name: str) -> str | None:
        """The platform's stable author id: the configured profile id, else the nick; none for anonymous posts."""
        if author_name.casefold() in self._anonymous:
            return None
        css = self.source.selectors.author_id
        if css is None:
            return author_name or None
        value = _attr_or_text(container, css, "href")
        if value and self._author_id is not None:
            match = self._author_id.search(value)
            value = next((g for g in match.groups() if g is not None), None) if match else None
        return _nick(value) if value else None  # a guest without a profile has no stable id

    def _permalink(self, container: Selector, page_url: str, response: Response) -> str:
        css = self.source.selectors.permalink
        link = _attr_or_text(container, css, "href") if css else None
        if link:
            return self._canonical(response.urljoin(link), keep_fragment=True)
        anchor = container.attrib.get("id")
        return f"{page_url}#{anchor}" if anchor else page_url

    def _split_quotes(self, message: Selector) -> tuple[str, str | None, int | None]:
        """The poster's own text, the text they quoted (kept apart: a quoted doxx is not a new one), and
        the id of the first quoted post when the forum links it."""
        selectors = self.source.selectors
        if selectors.quote is None:
            return html_to_text(message.root), None, None
        own = copy.deepcopy(message.root)
        matched = [q.root for q in Selector(root=own).css(selectors.quote) if q.root is not own]
        outermost = [q for q in matched if not any(a in matched for a in q.iterancestors())]
        quotes: list[str] = []
        quoted_post: int | None = None
        for element in outermost:
            if selectors.quote_post_id and quoted_post is None:
                quoted_post = self._native_id(Selector(root=element), selectors.quote_post_id)
            quote = copy.deepcopy(element)
            if selectors.quote_header:
                for header in [h.root for h in Selector(root=quote).css(selectors.quote_header)]:
                    if header is not quote:
                        drop_keeping_tail(header)
            quoted = html_to_text(quote)
            if self._quote_header is not None and (match := self._quote_header.match(quoted)):
                quoted = quoted[match.end() :].strip()
            if quoted:
                quotes.append(quoted)
            drop_keeping_tail(element)
        return html_to_text(own), "\n\n".join(quotes) or None, quoted_post

    # -- helpers -----------------------------------------------------------------------------------

    def _readable(self, response: Response) -> bool:
        """Count walls, refusals and non-HTML answers; True for a page worth parsing."""
        if wall := self.blocked(response):
            self.fail(wall, response)
            return False
        if response.status >= 400:
            self.fail(f"http_{response.status}", response)
            return False
        kind = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if not isinstance(response, TextResponse) or (kind and "html" not in kind and "xml" not in kind):
            self.fail("not_html", response, kind[:60] or "no content type")
            return False
        return True

    def _parse_date(self, text: str, fetched_at: datetime) -> datetime:
        """A post or listing date as UTC, read as ``date_format`` says in the forum's time zone."""
        clean = " ".join(text.split())
        date_format = self.source.date_format
        if date_format == "swedish":
            parsed = parse_swedish_datetime(clean, fetched_at)  # UnparsableDateError is a ValueError
            if self._tz.key != STOCKHOLM.key:  # the same wall-clock time, in the forum's own zone
                parsed = parsed.astimezone(STOCKHOLM).replace(tzinfo=self._tz)
            return parsed.astimezone(UTC)
        if not clean:
            raise ValueError("no date (selectors.date)")
        moment = datetime.fromisoformat(clean) if date_format == "iso" else datetime.strptime(clean, date_format)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self._tz)
        return moment.astimezone(UTC)

    def _thread_of(self, url: str) -> str | None:
        parts = urlsplit(url)
        match = self._thread_id.search(parts.path + (f"?{parts.query}" if parts.query else ""))
        if match is None:
            return None
        return next((group for group in match.groups() if group), None)

    def _relative(self, url: str) -> str:
        """A URL on the forum as a path, so stored state survives a new base_url (a mirror, a replay)."""
        base = self.source.base_url
        return url[len(base) :] if url.startswith(f"{base}/") else url

    def _absolute(self, stored: str) -> str:
        return self.url(stored) if stored.startswith("/") else stored

    def _canonical(self, url: str, keep_fragment: bool = False) -> str:
        """The URL without session parameters (and fragment): the same page gets the same URL every run."""
        parts = urlsplit(url)
        query = parts.query
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(name in self.source.ignore_query_params for name, _ in pairs):
            query = urlencode([(n, v) for n, v in pairs if n not in self.source.ignore_query_params])
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment if keep_fragment else ""))


def _text(context: Selector | SelectorList[Selector] | Response, css: str | None) -> str:
    """All text a selector finds, whitespace collapsed; elements count with their whole text."""
    if css is None:
        return ""
    parts = [
        match.root if isinstance(match.root, str) else match.xpath("string()").get("") for match in context.css(css)
    ]
    return " ".join(" ".join(parts).split())


def _attr_or_text(context: Selector | Response, css: str, attr: str) -> str | None:
    """The first value a selector finds: a text or attribute as is, an element by its ``attr`` (or text)."""
    for match in context.css(css):
        if isinstance(match.root, str):
            value = match.root.strip()
        else:
            value = str(match.root.get(attr) or match.xpath("string()").get("")).strip()
        if value:
            return value
    return None


def _all_links(response: Response, css: str) -> list[str]:
    links = []
    for match in response.css(css):
        value = match.root if isinstance(match.root, str) else match.root.get("href")
        if value and value.strip():
            links.append(value.strip())
    return links


def _nick(name: str) -> str:
    """A displayed name as one string: soft hyphens and zero-width characters out, NBSP as space, NFC."""
    return " ".join(unicodedata.normalize("NFC", name.translate(_INVISIBLE)).split())


def _first_int(text: str) -> int | None:
    match = _INT.search(text)
    return int(re.sub(r"\D", "", match.group())) if match else None
