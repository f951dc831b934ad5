"""Fictional feeds served as a Swedish newspaper, a WordPress blog and a Blogger blog serve theirs.

Formats follow docs/source-formats section 7: the newspaper's RSS 2.0 (``sv-se``, CDATA titles,
entity-escaped HTML descriptions, ``pubDate`` with ``+0100``/``+0200``/``GMT`` and non-padded days,
``dc:creator``, ``media:content``), WordPress's posts, comments and per-post comment feeds
(``content:encoded``, ``wfw:commentRss``, ``slash:comments``, comment guids ``?p=<post>#comment-<id>``,
``+0000`` dates) and Blogger's Atom posts and comments feeds (``thr:total``, ``thr:in-reply-to``,
``start-index``/``max-results`` paging with ``rel="next"``).

Conditional GET as WordPress answers it: ``ETag`` is the MD5 of ``Last-Modified``, a posts feed is dated by
its newest *post* (so it answers 304 when only comments came in), and 304 comes when both sent validators
match (or the one sent does). The newspaper's ETag hashes the body; its local feed sends only Last-Modified
and is served in ISO-8859-1; Blogger sends no validators. The site is a ``RequestSite`` of demo.replay, as
conditional GET needs the request's headers.

Fault modes, per site: ``hide_newest`` hides the newest entries of a feed (the site as it was earlier; hidden
comments also lower the posts' comment counts); ``window`` makes the newspaper's feed hold only its latest N;
``faults`` answers a path with the listed statuses first; ``slow`` delays paths. Fixed paths serve a
half-broken feed, a feed with an unreadable date, garbage, an empty body, a cookie consent page, a login wall,
a 403 block page, and a robots.txt that disallows ``/privat/``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from lxml import etree

from demo.flashback_site import Page
from demo.replay import Request

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rss"
ROBOTS = "User-agent: *\nDisallow: /privat/\n"
BLOG = "https://granskningen.example/"
BLOGGER = "https://mammasrost.blogspot.example/"
ATOM = "{http://www.w3.org/2005/Atom}"
THR = "{http://purl.org/syndication/thread/1.0}"
SLASH = "{http://purl.org/rss/1.0/modules/slash/}"
OPENSEARCH = "{http://a9.com/-/spec/opensearchrss/1.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
RSS_TYPE = "application/rss+xml; charset=UTF-8"
ATOM_TYPE = "application/atom+xml; charset=UTF-8"
FEEDS = ("nyheter", "lokalt", "wp-posts", "wp-comments", "blogger-posts", "blogger-comments")
GARBAGE = b"\x1f\x8b\x08\x00\xff\xfe<?xm\x00l \x93\xa7 {{{ <<< \xc3\x28 ]]> &&& \x00\x00"

_WP_POST_FEED = re.compile(r"^/blogg/(?P<permalink>\d{4}/\d{2}/\d{2}/[\w-]+/)feed/?$")
_BLOGGER_POST_FEED = re.compile(r"^/feeds/(?P<post>\d+)/comments/default/?$")
_PARSER = etree.XMLParser(strip_cdata=False)


@dataclass(frozen=True)
class Seen:
    """One request as the tests check it: what was asked, when, with which headers, and the answer's status."""

    target: str
    at: float
    headers: dict[str, str]
    status: int


class RssSite:
    def __init__(
        self,
        *,
        hide_newest: dict[str, int] | None = None,
        window: int | None = None,
        blogger_page_size: int = 2,
        faults: dict[str, list[tuple[int, dict[str, str]]]] | None = None,
        slow: Iterable[str] = (),
        slow_s: float = 3.0,
    ) -> None:
        unknown = set(hide_newest or {}) - set(FEEDS)
        assert not unknown, f"no such feeds: {unknown}"
        self.hide_newest = hide_newest or {}
        self.window = window
        self.blogger_page_size = blogger_page_size
        self.faults = {path: list(answers) for path, answers in (faults or {}).items()}
        self.slow = frozenset(slow)
        self.slow_s = slow_s
        self.seen: list[Seen] = []
        """Every request, in order."""

    def respond(self, request: Request) -> Page:
        """The RequestSite protocol of demo.replay: conditional GET needs the request's validators."""
        target = f"{request.path}?{request.query}" if request.query else request.path
        asked_at = time.monotonic()
        page = self._answer(request.path, request.query, request.host, request.headers)
        self.seen.append(Seen(target, asked_at, dict(request.headers), page.status))
        return page

    def requests_to(self, target: str) -> list[Seen]:
        return [request for request in self.seen if request.target == target]

    def _answer(self, path: str, query: str, host: str, sent: Mapping[str, str]) -> Page:
        if path in self.slow:
            time.sleep(self.slow_s)
        if self.faults.get(path):
            status, headers = self.faults[path].pop(0)
            return Page(status, b"busy", "text/plain; charset=utf-8", tuple(headers.items()))
        params = {key: values[-1] for key, values in parse_qs(query).items()}
        if path == "/robots.txt":
            return Page(200, ROBOTS.encode(), "text/plain; charset=utf-8")
        if path in ("/rss/nyheter", "/privat/rss"):
            return self._newspaper("nyheter", "sundsbladet-nyheter.xml", sent, etag=True)
        if path == "/rss/lokalt":
            return self._newspaper("lokalt", "sundsbladet-lokalt.xml", sent, etag=False, charset="ISO-8859-1")
        if path == "/blogg/feed/":
            return self._wordpress_posts(host, sent)
        if path == "/blogg/comments/feed/":
            return self._wordpress_comments(None, sent)
        if match := _WP_POST_FEED.match(path):
            return self._wordpress_comments(BLOG + match["permalink"], sent)
        if path == "/feeds/posts/default":
            return self._blogger_posts(host, params)
        if path == "/feeds/comments/default":
            return self._blogger_comments(host, None)
        if match := _BLOGGER_POST_FEED.match(path):
            return self._blogger_comments(host, match["post"])
        return self._fixed(path)

    # -- the newspaper -----------------------------------------------------------------------------

    def _newspaper(
        self, name: str, fixture: str, sent: Mapping[str, str], *, etag: bool, charset: str = "UTF-8"
    ) -> Page:
        root = _load(fixture)
        items = self._visible(name, root.findall("channel/item"))
        if name == "nyheter" and self.window is not None:
            for item in items[self.window :]:
                _remove(item)
            items = items[: self.window]
        body = etree.tostring(root, xml_declaration=True, encoding=charset)
        modified = _newest(item.findtext("pubDate") for item in items)
        headers = [("Last-Modified", modified)] if modified else []
        if etag:
            headers.append(("ETag", f'"{hashlib.sha1(body).hexdigest()[:20]}"'))
        return _conditional(Page(200, body, f"application/rss+xml; charset={charset}", tuple(headers)), sent)

    # -- the WordPress blog ------------------------------------------------------------------------

    def _comment_items(self) -> tuple[Any, list[Any]]:
        root = _load("granskningen-comments.xml")
        return root, self._visible("wp-comments", root.findall("channel/item"))

    def _wordpress_posts(self, host: str, sent: Mapping[str, str]) -> Page:
        root = _load("granskningen-feed.xml")
        posts = self._visible("wp-posts", root.findall("channel/item"))
        _, comments = self._comment_items()
        for post in posts:
            guid = post.findtext("guid")
            count = sum(1 for c in comments if (c.findtext("guid") or "").startswith(f"{guid}#"))
            post.find(f"{SLASH}comments").text = str(count)
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        body = body.replace(b"<wfw:commentRss>" + BLOG.encode(), f"<wfw:commentRss>http://{host}/blogg/".encode())
        return _conditional(_wordpress_validators(Page(200, body, RSS_TYPE), posts), sent)

    def _wordpress_comments(self, permalink: str | None, sent: Mapping[str, str]) -> Page:
        root, comments = self._comment_items()
        if permalink is not None:  # /<post>/feed/: that post's comments, titled "Av: <name>"
            post = next(
                (p for p in _load("granskningen-feed.xml").findall("channel/item") if p.findtext("link") == permalink),
                None,
            )
            if post is None:
                return _not_found()
            root.find("channel/title").text = f"Kommentarer till: {post.findtext('title')}"
            for item in root.findall("channel/item"):
                if item not in comments or not (item.findtext("guid") or "").startswith(f"{post.findtext('guid')}#"):
                    _remove(item)
                else:
                    item.find("title").text = f"Av: {item.findtext(f'{DC}creator')}"
            comments = root.findall("channel/item")
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return _conditional(_wordpress_validators(Page(200, body, RSS_TYPE), comments), sent)

    # -- the Blogger blog --------------------------------------------------------------------------

    def _blogger_posts(self, host: str, params: dict[str, str]) -> Page:
        root = _load("mammasrost-posts.xml")
        posts = self._visible("blogger-posts", root.findall(f"{ATOM}entry"))
        _, comments = self._blogger_comment_entries()
        for post in posts:
            post_id = post.findtext(f"{ATOM}id")
            count = sum(1 for c in comments if c.find(f"{THR}in-reply-to").get("ref") == post_id)
            post.find(f"{THR}total").text = str(count)
        try:
            start = max(int(params.get("start-index", 1)), 1)
            size = min(max(int(params.get("max-results", self.blogger_page_size)), 1), 500)
        except ValueError:
            return Page(400, b"Invalid start-index or max-results", "text/plain; charset=utf-8")
        for number, post in enumerate(posts, 1):
            if not start <= number < start + size:
                _remove(post)
        if start + size <= len(posts):
            link = etree.Element(f"{ATOM}link", rel="next", type="application/atom+xml")
            link.set("href", f"{BLOGGER}feeds/posts/default?start-index={start + size}&max-results={size}")
            root.find(f"{ATOM}link[@rel='hub']").addnext(link)
        root.find(f"{OPENSEARCH}totalResults").text = str(len(posts))
        root.find(f"{OPENSEARCH}startIndex").text = str(start)
        root.find(f"{OPENSEARCH}itemsPerPage").text = str(size)
        return Page(200, _blogger_bytes(root, host), ATOM_TYPE)

    def _blogger_comment_entries(self) -> tuple[Any, list[Any]]:
        root = _load("mammasrost-comments.xml")
        return root, self._visible("blogger-comments", root.findall(f"{ATOM}entry"))

    def _blogger_comments(self, host: str, post: str | None) -> Page:
        root, comments = self._blogger_comment_entries()
        for comment in root.findall(f"{ATOM}entry"):
            ref = comment.find(f"{THR}in-reply-to").get("ref", "")
            if comment not in comments or (post is not None and not ref.endswith(f".post-{post}")):
                _remove(comment)
        return Page(200, _blogger_bytes(root, host), ATOM_TYPE)

    # -- faults ------------------------------------------------------------------------------------

    def _fixed(self, path: str) -> Page:
        if path == "/rss/trasig":
            return Page(200, (FIXTURES / "ekdalanytt-trasig.xml").read_bytes(), RSS_TYPE)
        if path == "/rss/odaterad":  # a date no parser reads: "i går kl. 14.05"
            return Page(200, (FIXTURES / "ekdalanytt-odaterad.xml").read_bytes(), RSS_TYPE)
        if path == "/rss/skrap":
            return Page(200, GARBAGE, RSS_TYPE)
        if path == "/rss/tom":
            return Page(200, b"", RSS_TYPE)
        if path == "/rss/samtycke":
            return Page(200, (FIXTURES / "samtycke.html").read_bytes(), "text/html; charset=utf-8")
        if path == "/rss/inloggning":
            return Page(200, (FIXTURES / "inloggning.html").read_bytes(), "text/html; charset=utf-8")
        if path == "/rss/sparrad":
            body = b"<html><head><title>403 Forbidden</title></head><body><h1>Access denied</h1></body></html>"
            return Page(403, body, "text/html; charset=utf-8")
        return _not_found()

    def _visible(self, feed: str, entries: list[Any]) -> list[Any]:
        """The entries still shown: the newest ``hide_newest[feed]`` (feeds list newest first) are removed."""
        hidden = self.hide_newest.get(feed, 0)
        for entry in entries[:hidden]:
            _remove(entry)
        return entries[hidden:]


def _load(name: str) -> Any:
    return etree.parse(str(FIXTURES / name), _PARSER).getroot()


def _remove(element: Any) -> None:
    element.getparent().remove(element)


def _newest(dates: Iterable[str | None]) -> str | None:
    parsed = [parsedate_to_datetime(d) for d in dates if d]
    return format_datetime(max(parsed).astimezone(UTC), usegmt=True) if parsed else None


def _wordpress_validators(page: Page, items: list[Any]) -> Page:
    """WordPress dates a feed by its newest item and derives the ETag from that date."""
    modified = _newest(item.findtext("pubDate") for item in items)
    if modified is None:
        return page
    etag = f'"{hashlib.md5(modified.encode(), usedforsecurity=False).hexdigest()}"'
    return Page(page.status, page.body, page.content_type, (("Last-Modified", modified), ("ETag", etag)))


def _conditional(page: Page, sent: Mapping[str, str]) -> Page:
    """304 when the request's validators ``sent`` match (both must, when both are sent), as WordPress decides."""
    validators = dict(page.headers)
    sent_etag, sent_since = sent.get("if-none-match"), sent.get("if-modified-since")
    if sent_etag is None and sent_since is None:
        return page
    etag_ok = sent_etag is not None and sent_etag == validators.get("ETag")
    since_ok = False
    if sent_since and validators.get("Last-Modified"):
        try:
            since_ok = parsedate_to_datetime(sent_since) >= parsedate_to_datetime(validators["Last-Modified"])
        except (TypeError, ValueError):
            since_ok = False
    fresh = (etag_ok and since_ok) if sent_etag is not None and sent_since is not None else (etag_ok or since_ok)
    return Page(304, b"", page.content_type, page.headers) if fresh else page


def _blogger_bytes(root: Any, host: str) -> bytes:
    """Feed links point at this server, so the crawler can follow them; ids and article links stay."""
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body.replace(f"{BLOGGER}feeds/".encode(), f"http://{host}/feeds/".encode())


def _not_found() -> Page:
    body = "<!DOCTYPE html><html lang='sv'><head><title>Sidan finns inte</title></head><body>404</body></html>"
    return Page(404, body.encode(), "text/html; charset=utf-8")
