"""RSS 2.0 and Atom feeds: news sites, blogs and their comment feeds (WordPress, Blogger).

A feed has no cursor: it holds its latest N entries. So every crawl asks with conditional GET
(``If-None-Match`` / ``If-Modified-Since`` from the last answer; 304 means nothing new) and skips entries
whose key is in the feed's bounded seen set. Paged feeds (``rel="next"``, Blogger) are followed while every
entry of a page is new. A blog's site-wide comment feed holds only the latest few comments, so an entry's
own comment feed (``wfw:commentRss``, Atom ``rel="replies"``) is read whenever its comment count grew.

The body Scrapy downloaded is parsed with feedparser (never letting it fetch anything itself): it copes with
the CDATA, entity-escaped HTML, local-offset RFC 822 dates and broken XML that real feeds carry.
"""

from __future__ import annotations

import calendar
import copy
import hashlib
import io
import re
import unicodedata
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser
import scrapy
from lxml import etree
from lxml import html as lxml_html
from scrapy.http import Response

from crawlers.html_text import drop_keeping_tail, html_to_text
from crawlers.pipelines import AUTHOR_FIELD
from crawlers.spiders.base import SourceSpider
from vaktpost.sources import RssSource

# feedparser sets ``bozo`` for these too, but the feed itself parsed fine (a wrong charset or media type).
_BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType, feedparser.UndeclaredNamespace)
_TRACKING = re.compile(
    r"^(utm_\w+|mc_cid|mc_eid|fbclid|gclid|dclid|gbraid|wbraid|msclkid|igshid|yclid|_hsenc|_hsmi|mkt_tok)$", re.I
)
_TRACKING_OR_COMMENT = re.compile(f"{_TRACKING.pattern}|^showComment$", re.I)  # Blogger: ?showComment=<ms>#c<id>
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
_COMMENT_FRAGMENT = re.compile(r"^(?:comment-?|c)\d+$", re.I)
_EMAIL_AND_NAME = re.compile(r"^\s*[^\s@()]+@[^\s@()]+\s*\((?P<name>[^)]*)\)\s*$")
_NAME_AND_EMAIL = re.compile(r"^\s*(?P<name>[^()]*?)\s*\(\s*[^\s@()]+@[^\s@()]+\s*\)\s*$")  # feedparser's Atom form
_EMAIL = re.compile(r"^\s*[^\s@()]+@[^\s@()]+\s*$")
_LANG = re.compile(r"^\s*(?P<primary>[a-z]{2,3})(?:[-_][a-z0-9-]*)?\s*$", re.I)
_HTML = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_FEED_TYPES = ("application/atom+xml", "application/rss+xml", "application/xml", "text/xml")


class RssSpider(SourceSpider):
    kind = "rss"
    source: RssSource
    handle_httpstatus_list: ClassVar[list[int]] = [*SourceSpider.handle_httpstatus_list, 304]

    async def start(self) -> AsyncIterator[Any]:
        for feed in self.source.feeds:
            url = feed if feed.startswith(("http://", "https://")) else self.url("/" + feed.lstrip("/"))
            yield self._request(url, feed, _host(url), headers=self._conditional(feed))

    def _conditional(self, feed: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since from the feed's last full answer."""
        known = self.state.get("feeds", {}).get(feed, {})
        if self.source.follow_comment_feeds and known.get("threads"):
            # WordPress dates a posts feed by its newest post and answers 304 when only comments came in:
            # a feed whose comment counts are watched is fetched whole.
            return {}
        headers = {}
        if known.get("etag"):
            headers["If-None-Match"] = str(known["etag"])
        if known.get("last_modified"):
            headers["If-Modified-Since"] = str(known["last_modified"])
        return headers

    def _request(
        self,
        url: str,
        feed: str,
        host: str,
        *,
        page: int = 1,
        thread: tuple[str, int] | None = None,
        headers: dict[str, str] | None = None,
    ) -> scrapy.Request:
        """A request for one page of ``feed`` (its key in the state), or for the comment feed of ``thread``."""
        return scrapy.Request(
            url,
            headers=headers or {},
            callback=self.parse_feed,
            errback=self.on_error,
            cb_kwargs={"feed": feed, "host": host, "page": page, "thread": thread},
        )

    # -- one feed page -----------------------------------------------------------------------------

    def parse_feed(
        self, response: Response, feed: str, host: str, page: int, thread: tuple[str, int] | None
    ) -> Iterator[Any]:
        """``thread`` is (article id, its comment count) when this is the comment feed of one article."""
        if response.status == 304:
            self.logger.info("not modified: %s", response.url)
            return
        if response.status >= 400:
            self.fail(self.blocked(response) or f"http_{response.status}", response)
            return
        parsed = self._read_feed(response)
        if parsed is None:
            return
        fetched_at = datetime.now(UTC)
        feed_state = self.next_state.setdefault("feeds", {}).setdefault(feed, {})
        old_feed_state = self.state.get("feeds", {}).get(feed, {})
        if thread is None:
            seen_state, old_seen = feed_state, old_feed_state.get("seen", [])
            if page == 1:
                self._remember_validators(feed_state, response, intact=not _broken(parsed))
                # Only articles still in the feed keep their comment counts: the state stays bounded.
                feed_state.pop("threads", None)
        else:
            seen_state = feed_state.setdefault("threads", {}).setdefault(thread[0], {})
            old_seen = old_feed_state.get("threads", {}).get(thread[0], {}).get("seen", [])
        seen = set(old_seen)
        page_ids: list[str] = []
        new = old = 0
        for entry in parsed.entries:
            key = _entry_key(entry, host)
            native = _digest(key)
            page_ids.append(native)
            if native in seen:
                continue
            created_at = self._created_at(entry, native, fetched_at, response)
            if created_at < self.horizon:
                old += 1
                continue
            new += 1
            yield self._post(entry, parsed, native, created_at, host, thread, response)
        if thread is None:
            yield from self._comment_feeds(parsed, feed, host, old_feed_state)
        _remember_seen(seen_state, page_ids, self.source.seen_per_feed)
        self.logger.info(
            "%s page %d: %d entries, %d new, %d older than the horizon", response.url, page, len(page_ids), new, old
        )
        # Older pages hold something new only while every entry of this one was new and recent enough.
        next_url = _next_page(parsed, response)
        if next_url and page < self.source.max_feed_pages and page_ids and not seen & set(page_ids) and not old:
            yield self._request(next_url, feed, host, page=page + 1, thread=thread)
        elif thread is not None:
            seen_state["comments"] = thread[1]  # all read: the next crawl follows this feed only when it grows

    def _read_feed(self, response: Response) -> Any:
        """feedparser's result for a feed, or None (counted) for a page that is no feed at all."""
        body = response.body
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        if not body.strip():
            self.fail("empty_feed", response)
            return None
        # A stream, not the bytes: feedparser would treat a string that looks like a URL or path as one to open.
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers={"content-type": content_type or "application/xml", "content-location": response.url},
        )
        if not parsed.get("version") and not parsed.entries:
            if _HTML.match(body[:2048]) or content_type.lower().startswith("text/html"):
                # A login wall or consent page served where the feed was: never parsed as posts.
                self.fail(self.blocked(response) or "not_a_feed", response, content_type)
            else:
                self.fail("malformed_feed", response, str(parsed.get("bozo_exception", "no feed"))[:120])
            return None
        if _broken(parsed):
            self.fail(
                "malformed_feed",
                response,
                f"{str(parsed.get('bozo_exception'))[:120]}; kept {len(parsed.entries)} entries",
            )
        return parsed

    def _remember_validators(self, feed_state: dict[str, Any], response: Response, intact: bool) -> None:
        """ETag / Last-Modified for the next conditional GET; a broken feed is fetched whole again."""
        for header, field in ((b"ETag", "etag"), (b"Last-Modified", "last_modified")):
            value = response.headers.get(header)
            if value and intact:
                feed_state[field] = value.decode("latin-1")
            else:
                feed_state.pop(field, None)

    def _comment_feeds(
        self, parsed: Any, feed: str, host: str, old_feed_state: dict[str, Any]
    ) -> Iterator[scrapy.Request]:
        """Each article's own comment feed, when its comment count grew since it was last read."""
        feed_state = self.next_state["feeds"][feed]
        old_threads = old_feed_state.get("threads", {})
        for entry in parsed.entries:
            url = _comment_feed_url(entry)
            count = _comment_count(entry)
            if url is None or count is None:
                continue
            article = _digest(_entry_key(entry, host))
            known = old_threads.get(article) or {}
            if known:
                kept = feed_state.setdefault("threads", {}).setdefault(article, copy.deepcopy(known))
                if count < int(known.get("comments", 0)):
                    kept["comments"] = count  # comments were deleted: growth counts from here
            if self.source.follow_comment_feeds and count > int(known.get("comments", 0)):
                yield self._request(url, feed, host, thread=(article, count))

    # -- one entry ---------------------------------------------------------------------------------

    def _created_at(self, entry: Any, native: str, fetched_at: datetime, response: Response) -> datetime:
        """Published, else updated (feedparser gives UTC); an entry without a date gets the fetch time."""
        for field in ("published_parsed", "updated_parsed", "created_parsed"):
            value = entry.get(field)
            if value:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
        if entry.get("published") or entry.get("updated"):
            self.fail("unparsable_date", response, f"entry rss:{native} gets the fetch time")
        else:
            self.note("undated_entry")
        return fetched_at

    def _post(
        self,
        entry: Any,
        parsed: Any,
        native: str,
        created_at: datetime,
        host: str,
        thread: tuple[str, int] | None,
        response: Response,
    ) -> dict[str, Any]:
        title = _title(entry)
        text, quoted = _content(entry)
        name, author_key = _author(entry)
        known = f"rss:{thread[0]}" if thread else None  # read from this article's own comment feed
        replied = _in_reply_to(entry, host)
        guessed = _article_of(entry, host)
        count = _comment_count(entry)
        return self.post(
            # The id hashes the entry's feed-independent key, so one article in two feeds is one post.
            id=f"rss:{native}",
            url=_url(entry, response),
            author_name=name,
            title=title,
            # A headline-only news item: the headline is what was said (a comment's title is made up).
            text=text or ("" if replied or known or guessed else title or ""),
            quoted_text=quoted,
            lang=_lang(entry, parsed),
            created_at=created_at.isoformat(),
            thread_id=known or replied or guessed or f"rss:{native}",
            reply_to=replied or known or guessed,
            metrics={"comments": count} if count is not None else {},
            # Feeds have no author ids: the name the feed shows, scoped by the feed's host.
            **{AUTHOR_FIELD: f"{author_key}@{host}" if author_key else None},
        )


# -- keys and ids ----------------------------------------------------------------------------------


def _digest(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def _entry_key(entry: Any, host: str) -> str:
    """guid / Atom id, else the link without tracking parameters, else title and date (scoped by host)."""
    guid = str(entry.get("id") or "").strip()
    if guid:
        return _id_key(guid, host)
    link = str(entry.get("link") or "").strip()
    if link.startswith(("http://", "https://")):
        return clean_url(link)
    title = str(entry.get("title") or "")
    date = str(entry.get("published") or entry.get("updated") or "")
    return f"{host}/{_digest(title + chr(0) + date)}"


def _id_key(value: str, host: str) -> str:
    """A URL or URN/tag id stands for itself; a bare guid (``48213``) only means something on its host."""
    if value.startswith(("http://", "https://")):
        return clean_url(value)
    if _SCHEME.match(value):
        return value
    return f"{host}/{value}"


def clean_url(url: str, *, fragment: bool = True, drop: re.Pattern[str] = _TRACKING) -> str:
    """The URL without tracking parameters (utm_*, mc_cid, ...), host lowercased; ``fragment`` keeps ``#...``."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not drop.match(k)]
    query = parts.query if len(kept) == len(pairs) else urlencode(kept)
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path, query, parts.fragment if fragment else "")
    )


def _in_reply_to(entry: Any, host: str) -> str | None:
    """The post id ``thr:in-reply-to`` (Atom threading, Blogger comments) points at."""
    ref = entry.get("thr_in-reply-to")
    if isinstance(ref, dict) and ref.get("ref"):
        return f"rss:{_digest(_id_key(str(ref['ref']), host))}"
    return None


def _article_of(entry: Any, host: str) -> str | None:
    """The article a comment belongs to: its guid or link without the ``#comment-12`` fragment.

    WordPress comment guids are the article's guid plus ``#comment-<id>``, so the guid is tried first:
    it then names the same post id as the article's own entry.
    """
    for value in (entry.get("id"), entry.get("link")):
        value = str(value or "")
        parts = urlsplit(value)
        if value.startswith(("http://", "https://")) and _COMMENT_FRAGMENT.match(parts.fragment):
            return f"rss:{_digest(clean_url(value, fragment=False, drop=_TRACKING_OR_COMMENT))}"
    return None


# -- entry fields ----------------------------------------------------------------------------------


def _title(entry: Any) -> str | None:
    detail = entry.get("title_detail") or {}
    value = str(detail.get("value", entry.get("title")) or "")
    text = html_to_text(value) if detail.get("type") in _HTML_TYPES else " ".join(value.split())
    return text or None


def _content(entry: Any) -> tuple[str, str | None]:
    """The entry's own words (content:encoded / Atom content, else description / summary) and what it quoted.

    feedparser has undone the XML layer (entities, CDATA); the HTML layer is undone here, once.
    """
    details = [c for c in entry.get("content") or [] if str(c.get("value") or "").strip()]
    detail = details[0] if details else entry.get("summary_detail") or {}
    value = str(detail.get("value") or "")
    if detail.get("type") in _HTML_TYPES:
        return _split_quotes(value)
    return value.strip(), None


def _split_quotes(fragment: str) -> tuple[str, str | None]:
    """Text outside ``<blockquote>`` is the author's; quoted text (of a comment, a source) is kept apart."""
    if not fragment.strip():
        return "", None
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return html_to_text(fragment), None
    quotes = [q for q in root.iter("blockquote") if not any(a.tag == "blockquote" for a in q.iterancestors())]
    quoted = [html_to_text(copy.deepcopy(q)) for q in quotes]
    for quote in quotes:
        drop_keeping_tail(quote)
    return html_to_text(root), "\n\n".join(q for q in quoted if q) or None


def _author(entry: Any) -> tuple[str | None, str | None]:
    """(display name, author key): dc:creator / Atom name; RSS ``<author>`` is ``email (Name)``."""
    raw = str(entry.get("author") or (entry.get("author_detail") or {}).get("name") or "")
    raw = " ".join(unicodedata.normalize("NFC", raw).split())
    if not raw:
        return None, None
    if match := _EMAIL_AND_NAME.match(raw) or _NAME_AND_EMAIL.match(raw):
        name = " ".join(match["name"].split())
        return (name, name) if name else (None, raw.split("(")[0].strip().lower())
    if _EMAIL.match(raw):
        return None, raw.lower()  # an address is no display name, but it does tell authors apart
    return raw, raw


def _lang(entry: Any, parsed: Any) -> str | None:
    """The entry's xml:lang, else the channel's ``language``: ``sv-se`` -> ``sv``."""
    candidates = [c.get("language") for c in entry.get("content") or []]
    candidates += [(entry.get(f) or {}).get("language") for f in ("summary_detail", "title_detail")]
    candidates.append(parsed.feed.get("language"))
    for value in candidates:
        if value and (match := _LANG.match(str(value))):
            return match["primary"].lower()
    return None


def _url(entry: Any, response: Response) -> str:
    for value in (entry.get("link"), entry.get("id")):
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return response.url


def _comment_count(entry: Any) -> int | None:
    for field in ("slash_comments", "thr_total"):
        value = str(entry.get(field) or "").strip()
        if value.isdigit():
            return int(value)
    return None


def _comment_feed_url(entry: Any) -> str | None:
    url = entry.get("wfw_commentrss")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return url
    for link in entry.get("links") or []:
        if link.get("rel") == "replies" and str(link.get("type", "")).startswith(_FEED_TYPES):
            return str(link["href"])
    return None


# -- feed level ------------------------------------------------------------------------------------


def _broken(parsed: Any) -> bool:
    return bool(parsed.get("bozo")) and not isinstance(parsed.get("bozo_exception"), _BENIGN)


def _next_page(parsed: Any, response: Response) -> str | None:
    for link in parsed.feed.get("links") or []:
        if link.get("rel") == "next" and link.get("href"):
            url = urljoin(response.url, str(link["href"]))
            return url if url != response.url else None
    return None


def _remember_seen(state: dict[str, Any], page_ids: list[str], limit: int) -> None:
    """Entries on this page first, then the others remembered; never forgets an entry the feed still holds."""
    current = set(page_ids)
    seen = list(dict.fromkeys(page_ids)) + [k for k in state.get("seen", []) if k not in current]
    state["seen"] = seen[: max(limit, len(current))]


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
