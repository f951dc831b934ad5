"""Reddit: subreddit ``new`` listings and searches through the OAuth API, then the comments of matching threads.

Reddit blocks unauthenticated JSON (403 "blocked by network security"), so every API call carries an
application-only bearer token fetched with the client credentials named in the settings; a 401 fetches a new
token once. Listings are newest first: each crawl reads the plain newest page and follows ``after`` (older)
until it passes the listing's watermark (newest ``created_utc`` of the last complete walk, less
``overlap_s``) or, on a first crawl, the horizon. ``before=`` is not used: it answers nothing when its anchor
was deleted, so the plain newest page would be needed anyway. Fullnames seen inside the overlap are kept in
the state, so an item is yielded once; the watermark only moves when a walk completed, so a walk cut short
is walked again next time.

Comments: ``/comments/<id36>?sort=new`` (an array of two Listings, replies nested). ``more`` stubs are
expanded through ``/api/morechildren`` and "continue this thread" stubs through the focal-comment page, at
most ``more_requests`` per thread and run; what is left is counted (``vaktpost/reddit/more_not_expanded``).
Matching threads stay followed for ``follow_days``: ``/api/info`` (100 threads a request) tells whose comment
count changed, and only those are read again.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import scrapy
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task
from twisted.python.failure import Failure

from crawlers.pipelines import AUTHOR_FIELD
from crawlers.spiders.base import SourceSpider
from vaktpost import __version__
from vaktpost.sources.reddit import RedditSource

log = logging.getLogger(__name__)

_GONE = {"[deleted]": "deleted", "[removed]": "removed"}
_QUOTE_MARK = re.compile(r"^(?:\s*>)+ ?")
_CONTACT = re.compile(r"\(\+(?P<url>[^)\s]+)\)")
_MORE_PER_REQUEST = 100  # /api/morechildren takes at most 100 ids
_INFO_PER_REQUEST = 100  # /api/info takes at most 100 fullnames
_COMMENTS_LIMIT = "500"
_RETRYING = object()  # _read's answer when the request was sent again with a new token
MAX_WAIT_S = 600.0  # Reddit's window is 10 minutes; crawlers.middlewares is not imported (it installs a reactor)


class RedditSpider(SourceSpider):
    kind = "reddit"
    source: RedditSource

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """One request at a time, behind the rate-limit middleware (placed after the central retries, so it
        sees a 429 first): Reddit's x-ratelimit headers describe the budget after each answer, and only a
        request that has not yet left the middleware can still wait for them. (One at a time also keeps
        Scrapy 2.19's robots.txt check sound: requests that wait together for robots.txt, beyond the first,
        are let through unchecked.)"""
        super().update_settings(settings)
        middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
        middlewares[f"{__name__}.RateLimitMiddleware"] = 560
        settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="spider")
        settings.set("CONCURRENT_REQUESTS", 1, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> RedditSpider:
        """Every request, robots.txt included, carries the User-Agent form Reddit requires (settings are not
        frozen yet when Scrapy creates the spider)."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, RedditSpider)
        agent = reddit_user_agent(spider.source, str(crawler.settings.get("USER_AGENT") or ""))
        crawler.settings.set("USER_AGENT", agent, priority="spider")
        return spider

    def __init__(self, source: RedditSource, state: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(source, state, **kwargs)
        self._credentials: tuple[str, str] | None = None
        self._token: str | None = None
        self._token_generation = 0
        self._refreshing = False
        self._refreshes = 0
        self._waiting: list[scrapy.Request] = []  # requests that got a 401, sent again with the next token
        self._known = {name for entry in state.get("listings", {}).values() for name in entry.get("seen", {})}
        self._yielded: set[str] = set()
        self._walk_newest: dict[str, float] = {}
        self._followed: set[str] = set()  # threads /api/info checks this run
        self._scheduled: set[str] = set()  # threads whose comments are requested this run
        self._expansions: dict[str, int] = {}
        self._incomplete: set[str] = set()
        self._thread_seen: dict[str, set[str]] = {}
        terms = [re.escape(term) for term in self.source.search_terms if term.strip()]
        self._terms = re.compile(rf"(?<!\w)(?:{'|'.join(terms)})(?!\w)", re.I) if terms else None

    # -- where to start: a token, then listings, searches and the followed threads -------------------

    async def start(self) -> AsyncIterator[Any]:
        id_env, secret_env = self.source.client_id_env, self.source.client_secret_env
        client_id, secret = os.environ.get(id_env, "").strip(), os.environ.get(secret_env, "").strip()
        if not client_id or not secret:
            self.give_up(
                "missing_credentials",
                self.source.token_url,
                f"set {id_env} and {secret_env} to the client id and secret of a Reddit app",
            )
            return
        self._credentials = (client_id, secret)
        yield self._token_request()

    def _token_request(self) -> scrapy.Request:
        assert self._credentials is not None
        basic = base64.b64encode(":".join(self._credentials).encode("utf-8")).decode("ascii")
        return scrapy.FormRequest(
            self.source.token_url,
            formdata={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
            callback=self.parse_token,
            errback=self._token_failed,
            dont_filter=True,
            # Reddit's robots.txt is for search engines, not API clients; the token call fetches no content.
            meta={"dont_obey_robotstxt": True, "dont_cache": True, "handle_httpstatus_all": True},
        )

    def parse_token(self, response: Response) -> Iterator[Any]:
        token = None
        if response.status == 200 and not _looks_like_html(response):
            try:
                answer = json.loads(response.body)
                token = answer.get("access_token") if isinstance(answer, dict) else None
            except (json.JSONDecodeError, UnicodeDecodeError):
                token = None
        if not isinstance(token, str) or not token:
            wall = self.blocked(response) if _looks_like_html(response) else None
            hint = f"; check {self.source.client_id_env} and {self.source.client_secret_env}"
            self.give_up("token_refused", response, f"HTTP {response.status}{f' ({wall})' if wall else ''}{hint}")
            self._refreshing, self._waiting = False, []
            return
        first = self._token is None
        self._token, self._token_generation, self._refreshing = token, self._token_generation + 1, False
        if first:
            yield from self._first_requests()
        waiting, self._waiting = self._waiting, []
        for request in waiting:
            yield self._authorised(request)

    def _token_failed(self, failure: Failure) -> None:
        self.on_error(failure)
        self._refreshing, self._waiting = False, []

    def _first_requests(self) -> Iterator[scrapy.Request]:
        if self.source.comments:
            yield from self._followed_threads()
        for subreddit in self.source.subreddits:
            sub = quote(subreddit, safe="+")
            yield self._listing_request(f"new:{subreddit}", f"/r/{sub}/new", {}, search=False)
            for term in self.source.search_terms:
                params = {"q": term, "restrict_sr": "1", "sort": "new", "t": "all"}
                yield self._listing_request(f"search:{subreddit}:{term}", f"/r/{sub}/search", params, search=True)
        if not self.source.subreddits:
            for term in self.source.search_terms:
                params = {"q": term, "sort": "new", "t": "all"}
                yield self._listing_request(f"search:*:{term}", "/search", params, search=True)

    def _followed_threads(self) -> Iterator[scrapy.Request]:
        """Ask /api/info for the comment counts of threads still followed; forget the older ones."""
        threads = self.next_state.setdefault("threads", {})
        oldest = time.time() - self.source.follow_days * 86400
        for name in [name for name, entry in threads.items() if float(entry.get("created", 0)) < oldest]:
            del threads[name]
        self._followed = set(threads) & set(self.state.get("threads", {}))
        names = sorted(self._followed)
        for at in range(0, len(names), _INFO_PER_REQUEST):
            ids = ",".join(names[at : at + _INFO_PER_REQUEST])
            yield self._api("/api/info", {"id": ids}, self.parse_info, {})

    # -- how to follow: authorised requests, listing walks, comment trees ----------------------------

    def _api(self, path: str, params: dict[str, str], callback: Any, cb_kwargs: dict[str, Any]) -> scrapy.Request:
        query = urlencode({**params, "raw_json": "1"}, quote_via=quote, safe=",")
        request = scrapy.Request(
            self.url(f"{path}?{query}"),
            callback=callback,
            errback=self.on_error,
            cb_kwargs=cb_kwargs,
        )
        return self._authorised(request)

    def _authorised(self, request: scrapy.Request) -> scrapy.Request:
        headers = request.headers.copy()
        headers["Authorization"] = f"bearer {self._token}"
        return request.replace(headers=headers, meta={**request.meta, "reddit_token": self._token_generation})

    def _read(self, response: Response) -> Generator[scrapy.Request, None, Any]:
        """The JSON body of an API answer, or None after counting why there is none (never parses a wall)."""
        if response.status == 401:
            yield from self._reauthorise(response)
            return _RETRYING
        html_page = _looks_like_html(response)
        if response.status >= 400 or html_page:
            reason = self.blocked(response) or (f"http_{response.status}" if response.status >= 400 else None)
            self.fail(reason or "unexpected_markup", response, _snippet(response) if html_page else "")
            return None
        return self.json_body(response)

    def _reauthorise(self, response: Response) -> Iterator[scrapy.Request]:
        """A 401: send the request again with a new token, fetching one (once per run) unless it is newer."""
        request = response.request
        assert request is not None
        if request.meta.get("reddit_reauthorised"):
            self.fail("unauthorized", response, "401 again with a new token")
            return
        retry = request.replace(dont_filter=True, meta={**request.meta, "reddit_reauthorised": True})
        if self._refreshing:
            self._waiting.append(retry)
        elif request.meta.get("reddit_token") != self._token_generation:
            yield self._authorised(retry)  # a newer token arrived while this request was under way
        elif self._refreshes >= 1:
            self.fail("unauthorized", response, "401 after the token was already renewed once")
        else:
            self._waiting.append(retry)
            self._refreshing, self._refreshes = True, self._refreshes + 1
            self.logger.info("401 at %s: fetching a new token", response.url)
            yield self._token_request()

    def _listing_request(
        self, key: str, path: str, params: dict[str, str], *, search: bool, after: str | None = None
    ) -> scrapy.Request:
        query = {**params, "limit": str(self.source.page_size)}
        if after:
            query["after"] = after
        cb_kwargs = {"key": key, "path": path, "params": params, "search": search}
        return self._api(path, query, self.parse_listing, cb_kwargs)

    def parse_listing(
        self, response: Response, key: str, path: str, params: dict[str, str], search: bool
    ) -> Iterator[Any]:
        data = yield from self._read(response)
        if data is None or data is _RETRYING:
            return
        try:
            children, after = _listing(data)
        except ValueError as err:
            self.fail("unexpected_json", response, str(err))
            return
        committed = self.state.get("listings", {}).get(key, {})
        watermark = committed.get("watermark")
        stop_at = float(watermark) - self.source.overlap_s if watermark is not None else self.horizon.timestamp()
        entry = self.next_state.setdefault("listings", {}).setdefault(key, {})
        seen: dict[str, float] = entry.setdefault("seen", {})
        legacy = _legacy(response)
        passed = False
        for child in children:
            thing = child.get("data")
            if child.get("kind") != "t3" or not isinstance(thing, dict):
                self.fail("unexpected_json", response, f"a {child.get('kind')!r} in a listing of posts")
                continue
            try:
                name, created = _name(thing, "t3"), float(thing["created_utc"])
            except (KeyError, TypeError, ValueError) as err:
                self.fail("unexpected_json", response, f"post without {err}")
                continue
            self._walk_newest[key] = max(created, self._walk_newest.get(key, created))
            if created < stop_at:
                passed = True
                break
            if name in seen:
                continue
            seen[name] = created
            if name in self._known or name in self._yielded:
                continue  # yielded from another listing
            yield from self._submission(thing, response, legacy, search)
        if passed or not after or not children:
            self._walk_complete(key, entry, watermark)
        else:
            yield self._listing_request(key, path, params, search=search, after=after)

    def _walk_complete(self, key: str, entry: dict[str, Any], watermark: float | None) -> None:
        """Move the watermark to the newest item of this walk and forget fullnames below the overlap."""
        candidates = [at for at in (watermark, self._walk_newest.get(key)) if at is not None]
        if not candidates:
            return
        newest = max(candidates)
        entry["watermark"] = newest
        floor = newest - self.source.overlap_s
        entry["seen"] = {name: at for name, at in entry.get("seen", {}).items() if at >= floor}

    def _submission(self, thing: dict[str, Any], response: Response, legacy: bool, search: bool) -> Iterator[Any]:
        name = _name(thing, "t3")
        if reason := gone("t3", thing):
            self._skipped(reason, name)
        else:
            item = self._item("t3", thing, response, legacy, None)
            if item is not None:
                yield item
        if self.source.comments and (search or self.source.listing_comments or self._matches(thing)):
            yield from self._follow(thing, legacy)

    def _matches(self, thing: dict[str, Any]) -> bool:
        words = f"{thing.get('title') or ''}\n{thing.get('selftext') or ''}"
        return self._terms is not None and self._terms.search(words) is not None

    def _follow(self, thing: dict[str, Any], legacy: bool) -> Iterator[scrapy.Request]:
        """Follow a matching thread from now on; read its comments unless /api/info already decides that."""
        name = _name(thing, "t3")
        if name in self._followed:
            return
        threads = self.next_state.setdefault("threads", {})
        entry = threads.setdefault(name, {"created": float(thing["created_utc"]), "num_comments": 0, "seen": []})
        comments = _int(thing.get("num_comments")) or 0
        if comments and comments != entry.get("num_comments"):
            yield from self._comments_request(name, _title(thing, legacy))

    def parse_info(self, response: Response) -> Iterator[Any]:
        data = yield from self._read(response)
        if data is None or data is _RETRYING:
            return
        try:
            children, _ = _listing(data)
        except ValueError as err:
            self.fail("unexpected_json", response, str(err))
            return
        committed = self.state.get("threads", {})
        for child in children:
            thing = child.get("data")
            if child.get("kind") != "t3" or not isinstance(thing, dict) or "id" not in thing:
                continue
            name = _name(thing, "t3")
            if name in committed and _int(thing.get("num_comments")) != committed[name].get("num_comments"):
                yield from self._comments_request(name, _title(thing, _legacy(response)))

    def _comments_request(self, link: str, title: str | None) -> Iterator[scrapy.Request]:
        if link in self._scheduled:
            return
        self._scheduled.add(link)
        params = {"sort": "new", "limit": _COMMENTS_LIMIT}
        path = f"/comments/{link.removeprefix('t3_')}"
        yield self._api(path, params, self.parse_comments, {"link": link, "title": title, "focal": False})

    def parse_comments(self, response: Response, link: str, title: str | None, focal: bool) -> Iterator[Any]:
        data = yield from self._read(response)
        if data is _RETRYING:
            return
        if data is None:
            self._invalidate(link)
            return
        try:
            if not isinstance(data, list) or len(data) != 2:
                raise ValueError("a thread must be an array of two listings")
            posts, _ = _listing(data[0])
            comments, _ = _listing(data[1])
        except ValueError as err:
            self.fail("unexpected_json", response, str(err))
            self._invalidate(link)
            return
        legacy = _legacy(response)
        head = next((c["data"] for c in posts if c.get("kind") == "t3" and isinstance(c.get("data"), dict)), None)
        if head is not None:
            title = _title(head, legacy) or title
            if not focal and link not in self._incomplete:
                thread = self.next_state.setdefault("threads", {}).setdefault(link, {"seen": []})
                thread.setdefault("created", float(head.get("created_utc") or time.time()))
                thread["num_comments"] = _int(head.get("num_comments")) or 0
        yield from self._comment_tree(comments, link, title, response, legacy)

    def parse_more(self, response: Response, link: str, title: str | None) -> Iterator[Any]:
        data = yield from self._read(response)
        if data is _RETRYING:
            return
        if data is None:
            self._invalidate(link)
            return
        try:
            errors = data["json"].get("errors")
            things = data["json"]["data"]["things"]
            if errors or not isinstance(things, list):
                raise ValueError(f"errors {errors!r}" if errors else "no list of things")
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            self.fail("unexpected_json", response, f"morechildren: {err}")
            self._invalidate(link)
            return
        yield from self._comment_tree(things, link, title, response, _legacy(response))

    def _comment_tree(
        self, children: list[Any], link: str, title: str | None, response: Response, legacy: bool
    ) -> Iterator[Any]:
        """Every new comment of a (nested or flat) list of things, then requests that expand its stubs."""
        tree = flatten_comments(children)
        if tree.malformed:
            self.fail("unexpected_json", response, f"{tree.malformed} comment things without data")
        seen = self._seen_in(link)
        thread = self.next_state.setdefault("threads", {}).setdefault(link, {"seen": []})
        for thing in tree.comments:
            comment_id = str(thing.get("id") or "")
            if not comment_id or comment_id in seen:
                continue
            seen.add(comment_id)
            thread.setdefault("seen", []).append(comment_id)
            if reason := gone("t1", thing):
                self._skipped(reason, _name(thing, "t1"))
                continue
            item = self._item("t1", thing, response, legacy, title)
            if item is not None:
                yield item
        more = [comment_id for comment_id in dict.fromkeys(tree.more) if comment_id not in seen]
        yield from self._expand(link, title, more, tree.continued)

    def _expand(self, link: str, title: str | None, more: list[str], continued: list[str]) -> Iterator[Any]:
        link36 = link.removeprefix("t3_")
        requests: list[scrapy.Request] = []
        for at in range(0, len(more), _MORE_PER_REQUEST):
            ids = ",".join(more[at : at + _MORE_PER_REQUEST])
            params = {"api_type": "json", "link_id": link, "children": ids, "sort": "new", "limit_children": "false"}
            requests.append(self._api("/api/morechildren", params, self.parse_more, {"link": link, "title": title}))
        for parent in continued:
            params = {"comment": parent.removeprefix("t1_"), "sort": "new", "limit": _COMMENTS_LIMIT}
            cb_kwargs = {"link": link, "title": title, "focal": True}
            requests.append(self._api(f"/comments/{link36}", params, self.parse_comments, cb_kwargs))
        budget = self.source.more_requests - self._expansions.get(link, 0)
        for request in requests[: max(budget, 0)]:
            self._expansions[link] = self._expansions.get(link, 0) + 1
            yield request.replace(errback=self._expansion_failed)
        if len(requests) > budget:
            left = len(requests) - max(budget, 0)
            self.note("more_not_expanded", left)
            self.logger.info("%s: %d comment expansions left for a later run", link, left)
            self._invalidate(link)  # the next run reads the thread again and expands what is left

    def _expansion_failed(self, failure: Failure) -> None:
        self.on_error(failure)
        request = getattr(failure, "request", None)
        if request is not None:
            self._invalidate(request.cb_kwargs.get("link", ""))

    def _invalidate(self, link: str) -> None:
        """Part of a thread could not be read: make the next run read its comments again."""
        if link:
            self._incomplete.add(link)
            self.next_state.setdefault("threads", {}).setdefault(link, {"seen": []})["num_comments"] = -1

    def _seen_in(self, link: str) -> set[str]:
        if link not in self._thread_seen:
            self._thread_seen[link] = set(self.state.get("threads", {}).get(link, {}).get("seen", []))
        return self._thread_seen[link]

    # -- what to extract ---------------------------------------------------------------------------

    def _item(
        self, kind: str, thing: dict[str, Any], response: Response, legacy: bool, title: str | None
    ) -> dict[str, Any] | None:
        try:
            fields = post_fields(kind, thing, web_url=self.source.web_url, legacy=legacy, thread_title=title)
        except (KeyError, TypeError, ValueError) as err:
            self.fail("unexpected_json", response, f"{kind} {thing.get('id')!r}: missing or bad {err}")
            return None
        self._yielded.add(fields["id"].removeprefix("reddit:"))
        return self.post(**fields)

    def _skipped(self, reason: str, name: str) -> None:
        self.note(f"skipped_{reason}")
        self.logger.info("skipped %s %s", reason, name)


@dataclass
class CommentTree:
    """A thread's comment things in reading order, and what its stubs leave out."""

    comments: list[dict[str, Any]] = field(default_factory=list)
    more: list[str] = field(default_factory=list)  # id36s listed in ``more`` stubs
    continued: list[str] = field(default_factory=list)  # parents of "continue this thread" stubs
    malformed: int = 0


def flatten_comments(children: list[Any]) -> CommentTree:
    """Walk nested ``replies`` Listings (or a flat morechildren list) depth first, newest-first order kept."""
    tree = CommentTree()
    stack = list(reversed(children))
    while stack:
        child = stack.pop()
        thing = child.get("data") if isinstance(child, dict) else None
        if not isinstance(thing, dict):
            tree.malformed += 1
            continue
        if child.get("kind") == "more":
            ids = [str(comment_id) for comment_id in thing.get("children") or []]
            if ids:
                tree.more += ids
            elif thing.get("parent_id"):
                tree.continued.append(str(thing["parent_id"]))
        elif child.get("kind") == "t1":
            tree.comments.append(thing)
            replies = thing.get("replies")
            if isinstance(replies, dict) and isinstance(replies.get("data"), dict):
                stack.extend(reversed(replies["data"].get("children") or []))
    return tree


def post_fields(
    kind: str, thing: dict[str, Any], *, web_url: str, legacy: bool = False, thread_title: str | None = None
) -> dict[str, Any]:
    """Post fields of a t3 (submission) or t1 (comment); the author's fullname goes to AUTHOR_FIELD."""
    name = _name(thing, kind)
    created = datetime.fromtimestamp(float(thing["created_utc"]), UTC)
    author = thing.get("author")
    author_name = str(author) if author and author != "[deleted]" else None
    # Old answers carry no author_fullname; usernames never change, so they are the fallback.
    author_id = thing.get("author_fullname") or author_name
    raw = str(thing.get("selftext" if kind == "t3" else "body") or "")
    text, quoted = split_quotes(_unescape(raw) if legacy else raw)
    if kind == "t3":
        # A submission's title is the poster's own words too (often the only ones, in link posts).
        text = "\n\n".join(part for part in (_title(thing, legacy), text) if part)
    permalink = thing.get("permalink")
    if kind == "t3":
        url = f"{web_url}{permalink}" if permalink else f"{web_url}/comments/{thing['id']}"
        thread, reply_to, title = name, None, _title(thing, legacy)
        metrics = {key: _int(thing.get(key)) for key in ("score", "num_comments", "num_crossposts")}
    else:
        link = str(thing["link_id"])
        url = f"{web_url}{permalink}" if permalink else f"{web_url}/comments/{link.removeprefix('t3_')}/_/{thing['id']}"
        thread, reply_to = link, f"reddit:{thing['parent_id']}"
        link_title = thing.get("link_title")
        title = thread_title or (_unescape(link_title) if legacy and isinstance(link_title, str) else link_title)
        metrics = {"score": None if thing.get("score_hidden") else _int(thing.get("score"))}
    return {
        "id": f"reddit:{name}",
        "url": url,
        "author_name": author_name,
        "title": title,
        "text": text,
        "quoted_text": quoted,
        "created_at": created.isoformat(),
        "thread_id": f"reddit:{thread}",
        "reply_to": reply_to,
        "metrics": {key: value for key, value in metrics.items() if value is not None},
        AUTHOR_FIELD: author_id,
    }


def gone(kind: str, thing: dict[str, Any]) -> str | None:
    """'deleted' or 'removed' when the text was replaced by Reddit's placeholder (the words are gone)."""
    text = thing.get("selftext" if kind == "t3" else "body")
    return _GONE.get(text.strip()) if isinstance(text, str) else None


def split_quotes(markdown: str) -> tuple[str, str | None]:
    """The author's own lines and the ``>`` blockquotes (others' words), kept apart; ``>!spoilers!<`` stay."""
    own: list[str] = []
    quotes: list[list[str]] = []
    in_quote = False
    for line in markdown.replace("&#x200B;", "").splitlines():
        stripped = line.lstrip()
        if stripped.startswith(">") and not stripped.startswith(">!"):
            if not in_quote:
                quotes.append([])
            in_quote = True
            quotes[-1].append(_QUOTE_MARK.sub("", line).rstrip())
        elif in_quote and stripped:
            quotes[-1].append(line.strip())  # a lazy continuation line still belongs to the quote
        else:
            in_quote = False
            own.append(line.rstrip())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(own)).strip()
    quoted = "\n\n".join(q for q in ("\n".join(block).strip() for block in quotes) if q)
    return text, quoted or None


def reddit_user_agent(source: RedditSource, global_user_agent: str) -> str:
    """Reddit's required form ``<platform>:<app ID>:<version> (by /u/<username>)``, plus our contact URL."""
    agent = f"python:{source.app_id}:{__version__} (by /u/{source.username})"
    contact = _CONTACT.search(global_user_agent)
    return f"{agent} (+{contact['url']})" if contact else agent


def _listing(data: Any) -> tuple[list[dict[str, Any]], str | None]:
    if not isinstance(data, dict) or data.get("kind") != "Listing" or not isinstance(data.get("data"), dict):
        raise ValueError("not a Listing")
    children = data["data"].get("children")
    if not isinstance(children, list) or not all(isinstance(child, dict) for child in children):
        raise ValueError("a Listing without a list of children")
    after = data["data"].get("after")
    return children, str(after) if after else None


def _name(thing: dict[str, Any], kind: str) -> str:
    return str(thing.get("name") or f"{kind}_{thing['id']}")


def _title(thing: dict[str, Any], legacy: bool) -> str | None:
    title = thing.get("title")
    if not isinstance(title, str):
        return None
    return _unescape(title) if legacy else title


def _unescape(text: str) -> str:
    """Undo the legacy escaping of & < > that Reddit applies without ``raw_json=1`` (exactly once)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _legacy(response: Response) -> bool:
    return parse_qs(urlsplit(response.url).query).get("raw_json") != ["1"]


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _looks_like_html(response: Response) -> bool:
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    return "html" in content_type or response.body.lstrip()[:1] == b"<"


def _snippet(response: Response) -> str:
    if not isinstance(response, TextResponse):
        return ""
    return html.unescape(re.sub(r"<[^>]+>|\s+", " ", response.text[:600])).strip()[:120]


class RateLimitMiddleware:
    """Sits out Reddit's rate-limit window when ``x-ratelimit-remaining`` is nearly spent.

    Reddit counts requests per OAuth client over a window and says how many are left and in how many seconds
    the window resets; a 429 carries the same headers, so the central retry waits here too.
    """

    RESERVE = 1.0

    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self._resume_at = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RateLimitMiddleware:
        return cls(crawler.settings.getfloat("VAKTPOST_RETRY_AFTER_MAX_S", MAX_WAIT_S))

    async def process_request(self, request: scrapy.Request, spider: Spider | None = None) -> None:
        wait = self._resume_at - time.monotonic()
        if wait > 0:
            from twisted.internet import reactor  # imported late: importing it early would install the wrong one

            log.info("rate limit nearly spent: waiting %.1f s before %s", wait, request.url)
            await maybe_deferred_to_future(task.deferLater(reactor, wait, lambda: None))

    def process_response(self, request: scrapy.Request, response: Response, spider: Spider | None = None) -> Response:
        remaining = _header_float(response, b"x-ratelimit-remaining")
        reset = _header_float(response, b"x-ratelimit-reset")
        if remaining is not None and reset is not None and remaining <= self.RESERVE:
            wait = min(max(reset, 0.0), self.max_wait_s)
            self._resume_at = max(self._resume_at, time.monotonic() + wait)
            log.info("%s: %.0f requests left, window resets in %.0f s", request.url, remaining, reset)
        return response


def _header_float(response: Response, name: bytes) -> float | None:
    value = response.headers.get(name)
    try:
        return float(value.decode("latin-1")) if value else None
    except ValueError:
        return None
