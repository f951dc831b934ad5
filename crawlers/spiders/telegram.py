"""Telegram: public channels through the web preview ``/s/<channel>``, without login.

Message ids increase per channel (with gaps: deletions and album members), so the newest id seen is the
incremental key. A first crawl reads the newest page and walks back with ``?before=<smallest id>`` (ids
strictly less) to the horizon; later crawls read forward with ``?after=<newest stored id>`` while the page
links newer messages. With ``search_terms`` each channel is searched (``?q=``) instead, walking back to the
term's own watermark.

A walk back records its watermark only when it reaches its end (the horizon, a known id or the start of
the channel): a page that failed half-way must not let the next crawl jump over the messages behind it.
A redirect away from the preview (unknown channel, preview disabled) and a page without the message
history are failures, never "no posts".

Whose words: the channel is the author of its messages. A forward carries someone else's words: they go
to ``quoted_text`` with ``forwarded_from``, and ``text`` stays empty (a Telegram forward holds no comment
of the forwarder; a comment is a message of its own). A link preview's title and description are the
linked site's words and go to ``quoted_text`` too. The snippet of a replied-to message is left out;
``reply_to`` points at that message.
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import scrapy
from lxml import html as lxml_html
from parsel import Selector, SelectorList
from scrapy.http import Response, TextResponse

from crawlers.html_text import html_to_text
from crawlers.pipelines import AUTHOR_FIELD
from crawlers.spiders.base import SourceSpider
from vaktpost.sources import TelegramSource

_MESSAGE = "div.tgme_widget_message[data-post]"
_TEXT_CLASS = "tgme_widget_message_text"
# Text inside these belongs to someone else (or to nobody) and is never the channel's own text.
_NOT_OWN = {"tgme_widget_message_reply", "tgme_widget_message_link_preview", "tgme_widget_message_forwarded_from"}
_COUNT = re.compile(r"^(?P<number>\d+(?:[.,]\d+)?)(?P<unit>[KMB]?)$", re.I)
_UNITS = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


@dataclass(frozen=True)
class Message:
    """One message block of a preview page, as read from the markup."""

    channel: str
    id: int
    last_id: int  # the highest id the block covers: album photos carry ids of their own
    service: bool
    created_at: datetime | None
    author_name: str | None
    text: str
    forwarded_from: str | None
    forwarded_text: str | None
    preview_text: str | None
    reply_to: tuple[str, int] | None
    views: int | None
    edited: bool
    photos: int


@dataclass(frozen=True)
class ChannelPage:
    """The message history of one preview page, oldest block first, and whether more lies either side."""

    messages: list[Message]
    has_older: bool
    has_newer: bool
    no_posts_found: bool  # t.me's explicit "No posts found": before the first message, or no search hits


class TelegramSpider(SourceSpider):
    kind = "telegram"
    source: TelegramSource
    # A redirect away from /s/<channel> means "no preview here": it is reported, never followed.
    handle_httpstatus_list: ClassVar[list[int]] = [*SourceSpider.handle_httpstatus_list, 301, 302, 303, 307, 308]

    async def start(self) -> AsyncIterator[Any]:
        for channel in dict.fromkeys(name.lower() for name in self.source.channels):
            known = self.state.get("channels", {}).get(channel, {})
            if self.source.search_terms:
                for term in dict.fromkeys(self.source.search_terms):
                    watermark = known.get("search", {}).get(term)
                    yield self._older_request(channel, term, watermark, newest=0, before=None)
            elif known.get("max_id"):
                yield self._newer_request(channel, int(known["max_id"]))
            else:
                yield self._older_request(channel, None, None, newest=0, before=None)

    # -- where to go ------------------------------------------------------------------------------

    def _page_url(self, channel: str, params: dict[str, str]) -> str:
        return self.url(f"/s/{channel}" + (f"?{urlencode(params)}" if params else ""))

    def _older_request(
        self, channel: str, term: str | None, watermark: int | None, newest: int, before: int | None
    ) -> scrapy.Request:
        """The newest page (``before`` None) or the page of messages older than ``before``."""
        params = {"q": term} if term else {}
        if before is not None:
            params["before"] = str(before)
        return scrapy.Request(
            self._page_url(channel, params),
            callback=self.parse_older,
            errback=self.on_error,
            cb_kwargs={"channel": channel, "term": term, "watermark": watermark, "newest": newest, "before": before},
        )

    def _newer_request(self, channel: str, after: int) -> scrapy.Request:
        return scrapy.Request(
            self._page_url(channel, {"after": str(after)}),
            callback=self.parse_newer,
            errback=self.on_error,
            cb_kwargs={"channel": channel, "after": after},
        )

    # -- how to follow ----------------------------------------------------------------------------

    def parse_older(
        self,
        response: Response,
        channel: str,
        term: str | None,
        watermark: int | None,
        newest: int,
        before: int | None,
    ) -> Iterator[Any]:
        """Walk back: yield what is new on this page, then go older until the walk's end is reached."""
        page = self._page(response)
        if page is None:
            return  # counted; the walk is not finished, so its watermark stays where it was
        first_crawl = watermark is None
        floor = watermark or 0
        oldest: datetime | None = None
        for message in page.messages:
            newest = max(newest, message.last_id)
            if message.created_at is not None:
                oldest = message.created_at if oldest is None else min(oldest, message.created_at)
            if message.id <= floor or (first_crawl and message.created_at and message.created_at < self.horizon):
                continue
            if (item := self._post(message, channel, response)) is not None:
                yield item
        if not page.messages:
            if page.no_posts_found:  # the start of the channel (or no more hits)
                self._finish(channel, term, newest)
            else:  # an empty history that does not say so is not an end to trust
                self.fail("unexpected_markup", response, "empty message history without 'No posts found'")
            return
        smallest = page.messages[0].id
        if before is not None and smallest >= before:
            self.fail("pagination_stuck", response, f"?before={before} answered with id {smallest}")
            return
        if smallest <= floor or (first_crawl and oldest is not None and oldest < self.horizon) or not page.has_older:
            self._finish(channel, term, newest)
            return
        yield self._older_request(channel, term, watermark, newest, smallest)

    def parse_newer(self, response: Response, channel: str, after: int) -> Iterator[Any]:
        """Walk forward: pages hold the oldest messages after ``after``, so each page may advance the mark."""
        page = self._page(response)
        if page is None:
            return
        fresh = [message for message in page.messages if message.id > after]
        for message in fresh:
            if (item := self._post(message, channel, response)) is not None:
                yield item
        if not fresh:
            return  # nothing newer: the channel is read up to now
        top = max(message.last_id for message in page.messages)
        self._advance(channel, top)
        if page.has_newer:
            yield self._newer_request(channel, top)

    def _finish(self, channel: str, term: str | None, newest: int) -> None:
        if not newest:
            return
        if term is None:
            self._advance(channel, newest)
            return
        searches = self.next_state.setdefault("channels", {}).setdefault(channel, {}).setdefault("search", {})
        searches[term] = max(int(searches.get(term) or 0), newest)

    def _advance(self, channel: str, newest: int) -> None:
        known = self.next_state.setdefault("channels", {}).setdefault(channel, {})
        known["max_id"] = max(int(known.get("max_id") or 0), newest)

    def _page(self, response: Response) -> ChannelPage | None:
        """The page's message history, or None after counting why there is none."""
        if 300 <= response.status < 400:
            location = (response.headers.get(b"Location") or b"").decode("latin-1")
            self.fail("channel_unavailable", response, f"{response.status} to {location or '?'}")
            return None
        if response.status >= 400:
            self.fail(self.blocked(response) or f"http_{response.status}", response)
            return None
        if not isinstance(response, TextResponse):
            self.fail("unexpected_markup", response, "not a text response")
            return None
        page = parse_page(response.selector)
        if page is None:
            # Only a page without message history is checked for walls: a post may well say "logga in för att".
            self.fail(self.blocked(response) or "unexpected_markup", response, "no message history on the page")
        return page

    # -- what to extract --------------------------------------------------------------------------

    def _post(self, message: Message, channel: str, response: Response) -> dict[str, Any] | None:
        if message.service:
            return None  # "Channel created", pinned messages, photo changes: nobody's words
        if message.created_at is None:
            self.fail("unparsable_date", response, f"message {channel}/{message.id}")
            return None
        if message.forwarded_from is not None:
            text, quoted = "", [message.forwarded_text or message.text]
        else:
            text, quoted = message.text, []
        if message.preview_text:
            quoted.append(message.preview_text)
        metrics = {"views": message.views, "photos": message.photos or None, "edited": 1 if message.edited else None}
        reply = message.reply_to
        return self.post(
            id=f"telegram:{channel}/{message.id}",
            url=self.url(f"/{channel}/{message.id}"),
            author_name=message.author_name,
            text=text,
            quoted_text="\n\n".join(part for part in quoted if part) or None,
            created_at=message.created_at.isoformat(),
            thread_id=f"telegram:{channel}",
            reply_to=f"telegram:{reply[0]}/{reply[1]}" if reply else None,
            forwarded_from=message.forwarded_from,
            metrics={name: value for name, value in metrics.items() if value is not None},
            **{AUTHOR_FIELD: channel},
        )


# -- parsing, kept free of Scrapy so that saved pages can be checked directly -----------------------


def parse_page(page: Selector) -> ChannelPage | None:
    """Message blocks of a t.me/s page; None when the page holds no message history, or none readable."""
    blocks = page.css(_MESSAGE)
    if not blocks and not page.css("section.tgme_channel_history"):
        return None
    title = _joined(page.css(".tgme_channel_info_header_title ::text").getall())
    messages = [message for block in blocks if (message := parse_message(block, title)) is not None]
    if blocks and not messages:
        return None  # the markup changed under us: never mistake that for an empty channel
    messages.sort(key=lambda message: message.id)
    return ChannelPage(
        messages=messages,
        has_older=bool(page.css('link[rel="prev"], a.tme_messages_more[data-before]')),
        has_newer=bool(page.css('link[rel="next"], a.tme_messages_more[data-after]')),
        no_posts_found=bool(page.css(".tme_no_messages_found")),
    )


def parse_message(block: Selector, channel_title: str | None = None) -> Message | None:
    """One ``div.tgme_widget_message``; None when its ``data-post`` holds no ``<channel>/<id>``."""
    channel, _, number = block.attrib.get("data-post", "").rpartition("/")
    if not channel or not number.isdigit():
        return None
    message_id = int(number)
    classes = block.attrib.get("class", "").split()
    forwarded = block.css(".tgme_widget_message_forwarded_from")
    text = _own_text(block)
    return Message(
        channel=channel,
        id=message_id,
        last_id=max([message_id, *_album_ids(block, channel)]),
        service="service_message" in classes,
        created_at=_created_at(block),
        author_name=_joined(block.css(".tgme_widget_message_owner_name ::text").getall()) or channel_title,
        text=text,
        forwarded_from=_forwarded_from(forwarded) if forwarded else None,
        forwarded_text=text if forwarded else None,
        preview_text=_preview_text(block),
        reply_to=_reply_target(block),
        views=parse_count(_joined(block.css(".tgme_widget_message_views ::text").getall()) or ""),
        edited="edited" in " ".join(block.css(".tgme_widget_message_meta ::text").getall()).lower(),
        photos=len(block.css("a.tgme_widget_message_photo_wrap")),
    )


def parse_count(text: str) -> int | None:
    """Telegram's rounded counters ("987", "1.2K", "4.85K", "1M") as integers."""
    match = _COUNT.match(text.replace("\xa0", "").replace(" ", ""))
    if not match:
        return None
    try:
        number = Decimal(match["number"].replace(",", "."))
    except InvalidOperation:
        return None
    return int(number * _UNITS[match["unit"].upper()])


def _own_text(block: Selector) -> str:
    """The outermost message text of the block (album captions are nested twice), links made readable."""
    for candidate in block.css(f".{_TEXT_CLASS}"):
        element = candidate.root
        ancestors = [_classes(parent) for parent in element.iterancestors()]
        if any(_TEXT_CLASS in names or names & _NOT_OWN for names in ancestors):
            continue
        return _clean_text(element)
    return ""


def _clean_text(element: lxml_html.HtmlElement) -> str:
    """Plain text; a link whose label is not its address keeps the address in brackets after the label.

    Since 2024 t.me double-escapes ``&`` in ``a[onclick]`` hrefs: they are unescaped once more here, so a
    URL ends up unescaped exactly once. A link showing its own address is replaced by that address.
    """
    clone = copy.deepcopy(element)
    for link in list(clone.iter("a")):
        href = link.get("href") or ""
        if link.get("onclick") is not None:
            href = href.replace("&amp;", "&")
        label = " ".join(link.text_content().split())
        if not href.startswith(("http://", "https://")) or not label or label.startswith(("#", "@")):
            continue
        tail = link.tail
        for child in list(link):
            link.remove(child)
        link.text = href if _same_address(label, href) else f"{label} ({href})"
        link.tail = tail
    return html_to_text(clone)


def _same_address(label: str, href: str) -> bool:
    def bare(url: str) -> str:
        url = url.replace("&amp;", "&").removesuffix("…").removesuffix("...")
        url = re.sub(r"^https?://(www\.)?", "", url, flags=re.I)
        return url.rstrip("/").lower()

    shown = bare(label)
    return "." in shown and bare(href).startswith(shown)


def _forwarded_from(header: SelectorList[Selector]) -> str | None:
    """The public name a forward came from (a link to a channel, or plain text for hidden accounts)."""
    name = _joined(header.css(".tgme_widget_message_forwarded_from_name ::text").getall())
    return name or (_joined(header.css("::text").getall()) or "").removeprefix("Forwarded from").strip() or None


def _preview_text(block: Selector) -> str | None:
    preview = block.css(".tgme_widget_message_link_preview")
    if not preview:
        return None
    parts = [html_to_text(element.root) for element in preview.css(".link_preview_title, .link_preview_description")]
    return "\n\n".join(part for part in parts if part) or None


def _created_at(block: Selector) -> datetime | None:
    stamp = (
        block.css(".tgme_widget_message_footer time[datetime]::attr(datetime)").get()
        or block.css("a.tgme_widget_message_date time[datetime]::attr(datetime)").get()
    )
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None  # never guess a zone


def _reply_target(block: Selector) -> tuple[str, int] | None:
    href = block.css("a.tgme_widget_message_reply::attr(href)").get()
    if not href:
        return None
    parts = urlsplit(href).path.strip("/").split("/")
    if len(parts) != 2 or parts[0] in ("c", "s") or not parts[1].isdigit():
        return None  # private groups (/c/<internal id>/<id>) have no public address
    return parts[0].lower(), int(parts[1])


def _album_ids(block: Selector, channel: str) -> list[int]:
    ids = []
    for href in block.css("a[href*='?single']::attr(href)").getall():
        parts = urlsplit(href).path.strip("/").split("/")
        if len(parts) == 2 and parts[0].lower() == channel.lower() and parts[1].isdigit():
            ids.append(int(parts[1]))
    return ids


def _classes(element: lxml_html.HtmlElement) -> set[str]:
    return set((element.get("class") or "").split())


def _joined(texts: list[str]) -> str | None:
    return " ".join(" ".join(texts).split()) or None
