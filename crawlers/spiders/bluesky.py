"""Bluesky: public author feeds from the AppView, and post search with an app password.

Author feeds (``app.bsky.feed.getAuthorFeed``) come newest first, paged with an opaque ``cursor``; a walk
ends on the page that reaches the stored watermark (on a first crawl: the horizon). ``record.createdAt`` is
chosen by the client and can be backdated or in the future, so watermarks are the AppView's ``indexedAt``
(a repost's own ``reason.indexedAt`` in a feed). A watermark moves only when its walk is complete: a walk
broken by an error is repeated next time rather than leaving a gap behind it.

Search (``app.bsky.feed.searchPosts``) answers 403 ``AuthMissing`` without a session, so it runs only when
an app password is configured: one ``createSession`` per crawl (the endpoint is tightly rate limited), then
``sort=latest&since=<watermark>`` per term with the access token.

Reposts are attributed to the original post's author and deduplicated on its at-URI; a quoted post's text
goes to ``quoted_text``. Authors who asked not to be shown to logged-out viewers (the ``!no-unauthenticated``
self-label) are skipped. Facet offsets are UTF-8 byte offsets; the text is taken whole and never sliced.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import JsonRequest, Response
from twisted.python.failure import Failure

from crawlers.pipelines import AUTHOR_FIELD
from crawlers.spiders.base import SourceSpider
from crawlers.state import State
from vaktpost.settings import SourceConfig
from vaktpost.sources.bluesky import BlueskySource

REPOST = "app.bsky.feed.defs#reasonRepost"
PIN = "app.bsky.feed.defs#reasonPin"
NOT_FOUND = "app.bsky.feed.defs#notFoundPost"
BLOCKED = "app.bsky.feed.defs#blockedPost"
QUOTE = "app.bsky.embed.record#view"
QUOTE_WITH_MEDIA = "app.bsky.embed.recordWithMedia#view"
QUOTED_RECORD = "app.bsky.embed.record#viewRecord"
NO_UNAUTHENTICATED = "!no-unauthenticated"
FUTURE_SLACK = timedelta(days=1)
"""A ``createdAt`` more than this after ``indexedAt`` is a client clock or a trick, not a date."""

_AT_POST = re.compile(r"^at://(?P<did>did:[a-z]+:[^/]+)/app\.bsky\.feed\.post/(?P<rkey>[A-Za-z0-9._:~-]+)$")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_LOGIN_ERRORS = {"AuthenticationRequired": "login_failed", "AuthFactorTokenRequired": "login_failed"}
_METRICS = (("likes", "likeCount"), ("reposts", "repostCount"), ("replies", "replyCount"), ("quotes", "quoteCount"))


class Skipped(Exception):  # noqa: N818 - a decision, not an error
    """A post that is deliberately not collected (``reason`` is counted, never as a failure)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedViewError(ValueError):
    """A post view without the fields every AppView response has."""


@dataclass
class Walk:
    """One author feed or one search, followed page by page (newest first) down to ``floor``."""

    section: str  # "feeds" or "searches" in the state
    key: str  # the actor or the search term
    floor: datetime  # the committed watermark, or the horizon on a first crawl
    newest: datetime | None = None
    pages: int = 0
    hits: int = 0

    def saw(self, at: datetime) -> None:
        self.newest = at if self.newest is None else max(self.newest, at)

    def finish(self, next_state: State) -> None:
        """The walk is over (floor reached, nothing older, or cut short): what it saw needs no second look."""
        if self.newest is not None:
            next_state.setdefault(self.section, {})[self.key] = iso(self.newest)


class BlueskySpider(SourceSpider):
    kind = "bluesky"
    source: BlueskySource
    # XRPC errors arrive as 400 with a JSON name (BlockedActor, InvalidRequest...): read them, don't guess.
    handle_httpstatus_list: ClassVar[list[int]] = [400, 401, 403, 404, 410]

    def __init__(self, source: SourceConfig, state: State, **kwargs: Any) -> None:
        super().__init__(source, state, **kwargs)
        self._seen: set[str] = set()
        self._token: str | None = None

    async def start(self) -> AsyncIterator[Any]:
        for actor in self.source.actors:
            yield self._feed_request(self._walk("feeds", actor))
        if self.source.search_terms and (session := self._session_request()) is not None:
            yield session

    def _walk(self, section: str, key: str) -> Walk:
        stored = self.state.get(section, {}).get(key)
        try:
            return Walk(section, key, parse_datetime(stored) if stored else self.horizon)
        except MalformedViewError:
            self.logger.warning("unreadable %s watermark for %s: starting from the horizon", section, key)
            return Walk(section, key, self.horizon)

    # -- author feeds (public) ---------------------------------------------------------------------

    def _feed_request(self, walk: Walk, cursor: str | None = None) -> scrapy.Request:
        params = {"actor": walk.key, "limit": str(self.source.page_size), "filter": "posts_with_replies"}
        if cursor:
            params["cursor"] = cursor
        return scrapy.Request(
            self.url(f"/xrpc/app.bsky.feed.getAuthorFeed?{urlencode(params)}"),
            callback=self.parse_feed,
            errback=self.on_error,
            cb_kwargs={"walk": walk},
        )

    def parse_feed(self, response: Response, walk: Walk) -> Iterator[Any]:
        body = self._xrpc(response, {"InvalidRequest": "unknown_actor"})
        if body is None:
            return
        feed = body.get("feed")
        if not isinstance(feed, list):
            self.fail("unexpected_json", response, "getAuthorFeed without a feed array")
            return
        walk.pages += 1
        reached_floor = False
        for entry in feed:
            try:
                at, pinned = feed_item_time(entry)
            except MalformedViewError as err:
                self.fail("unexpected_json", response, str(err))
                continue
            if at <= walk.floor:
                reached_floor = reached_floor or not pinned  # a pinned post sits on top whatever its age
                continue
            walk.saw(at)
            yield from self._emit(entry["post"], response)
        cursor = body.get("cursor")
        if feed and not reached_floor and cursor and isinstance(cursor, str) and not self._truncated(walk, response):
            yield self._feed_request(walk, cursor)
        else:
            walk.finish(self.next_state)

    # -- search (needs a session) ------------------------------------------------------------------

    def _session_request(self) -> scrapy.Request | None:
        handle = os.environ.get(self.source.handle_env, "").strip()
        password = os.environ.get(self.source.app_password_env, "").strip()
        if not handle or not password:
            self.logger.info(
                "post search skipped: no app password in %s/%s (searchPosts needs a session)",
                self.source.handle_env,
                self.source.app_password_env,
            )
            return None
        return JsonRequest(
            f"{self.source.resolved_auth_url()}/xrpc/com.atproto.server.createSession",
            data={"identifier": handle, "password": password},
            callback=self.parse_session,
            errback=self.on_error,
            meta={"dont_cache": True},  # never write tokens into the development HTTP cache
            dont_filter=True,
        )

    def parse_session(self, response: Response) -> Iterator[Any]:
        body = self._xrpc(response, _LOGIN_ERRORS)
        if body is None:
            return
        token = body.get("accessJwt")
        if not isinstance(token, str) or not token:
            self.fail("unexpected_json", response, "createSession without an accessJwt")
            return
        self._token = token  # one session for the whole crawl: createSession allows 30 per 5 minutes
        for term in self.source.search_terms:
            yield self._search_request(self._walk("searches", term))

    def _search_request(self, walk: Walk, cursor: str | None = None) -> scrapy.Request:
        params = {"q": walk.key, "sort": "latest", "since": iso(walk.floor)}
        if self.source.search_lang:
            params["lang"] = self.source.search_lang
        params["limit"] = str(self.source.page_size)
        if cursor:
            params["cursor"] = cursor
        return scrapy.Request(
            f"{self.source.resolved_search_url()}/xrpc/app.bsky.feed.searchPosts?{urlencode(params)}",
            headers={"Authorization": f"Bearer {self._token}"},
            callback=self.parse_search,
            errback=self.on_error,
            meta={"dont_cache": True},
            cb_kwargs={"walk": walk},
        )

    def parse_search(self, response: Response, walk: Walk) -> Iterator[Any]:
        body = self._xrpc(response)
        if body is None:
            return
        posts = body.get("posts")
        if not isinstance(posts, list):
            self.fail("unexpected_json", response, "searchPosts without a posts array")
            return
        walk.pages += 1
        fresh = 0
        for view in posts:
            walk.hits += 1
            try:
                at = parse_datetime(view.get("indexedAt") if isinstance(view, dict) else None)
            except MalformedViewError as err:
                self.fail("unexpected_json", response, str(err))
                continue
            if at <= walk.floor:  # ``since`` is inclusive: the post at the watermark comes back
                continue
            fresh += 1
            walk.saw(at)
            yield from self._emit(view, response)
        cursor = body.get("cursor")
        total = body.get("hitsTotal")
        exhausted = isinstance(total, int) and walk.hits >= total
        if fresh and not exhausted and cursor and isinstance(cursor, str) and not self._truncated(walk, response):
            yield self._search_request(walk, cursor)
        else:
            walk.finish(self.next_state)

    # -- shared --------------------------------------------------------------------------------------

    def _emit(self, view: Any, response: Response) -> Iterator[dict[str, Any]]:
        """The post of one post view, once per crawl (a repost and its original share an at-URI)."""
        uri = view.get("uri") if isinstance(view, dict) else None
        if isinstance(uri, str):
            if uri in self._seen:
                return
            self._seen.add(uri)
        try:
            fields = post_fields(view)
        except Skipped as skip:
            self.note(skip.reason)
            self.logger.debug("%s skipped: %s", uri, skip.reason)
            return
        except MalformedViewError as err:
            self.fail("unexpected_json", response, str(err))
            return
        yield self.post(**fields)

    def _truncated(self, walk: Walk, response: Response) -> bool:
        """Whether the walk has used its page budget; it is then cut short, and reported."""
        if walk.pages < self.source.max_pages_per_query:
            return False
        self.fail("walk_truncated", response, f"stopped after {walk.pages} pages; older posts are skipped")
        return True

    def _xrpc(self, response: Response, names: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        """The JSON object of a successful XRPC call; anything else is counted under a reason and is None."""
        if response.status >= 400:
            error, message = xrpc_error(response)
            if error:
                reason = (names or {}).get(error) or _CAMEL.sub("_", error).lower()
                self.fail(reason, response, message)
            else:
                self.fail(self.blocked(response) or f"http_{response.status}", response)
            return None
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if "json" not in content_type:
            self.fail(self.blocked(response) or "unexpected_markup", response, content_type or "no Content-Type")
            return None
        body = self.json_body(response)
        if body is None:
            return None
        if not isinstance(body, dict):
            self.fail("unexpected_json", response, "an XRPC response must be a JSON object")
            return None
        return body

    def on_error(self, failure: Failure) -> None:
        """As the base class, but a request that robots.txt forbids is named as such."""
        if isinstance(failure.value, IgnoreRequest):
            request = getattr(failure, "request", None)
            self.fail("robots_disallowed", request.url if request is not None else "?")
            return
        super().on_error(failure)


# -- what a post view says ---------------------------------------------------------------------------


def post_fields(view: Any) -> dict[str, Any]:
    """The Post fields of one ``app.bsky.feed.defs#postView``; raises Skipped or MalformedViewError."""
    if not isinstance(view, dict):
        raise MalformedViewError("a post view must be an object")
    if view.get("$type") in (NOT_FOUND, BLOCKED) or view.get("notFound") or view.get("blocked"):
        raise Skipped("unavailable")
    uri = view.get("uri")
    did, rkey = _at_post(uri)
    author = view.get("author")
    record = view.get("record")
    if not isinstance(author, dict) or not isinstance(author.get("handle"), str):
        raise MalformedViewError(f"{uri}: no author handle")
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise MalformedViewError(f"{uri}: no record text")
    if opted_out(author):
        raise Skipped("opted_out")
    indexed_at = parse_datetime(view.get("indexedAt"))
    post_id = native_id(uri)
    reply: dict[str, Any] = record["reply"] if isinstance(record.get("reply"), dict) else {}
    parent = _ref_id(reply.get("parent"))
    root = _ref_id(reply.get("root"))
    handle = author["handle"]
    langs = record.get("langs")
    display_name = author.get("displayName")
    return {
        "id": post_id,
        "url": f"https://bsky.app/profile/{did if handle == 'handle.invalid' else handle}/post/{rkey}",
        "author_name": display_name.strip() if isinstance(display_name, str) and display_name.strip() else handle,
        "text": record["text"],
        "quoted_text": quoted_text(view.get("embed")),
        "lang": langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        "created_at": iso(created_at(record.get("createdAt"), indexed_at)),
        "thread_id": root or post_id,
        "reply_to": parent,
        "metrics": {
            name: view[key]
            for name, key in _METRICS
            if isinstance(view.get(key), int) and not isinstance(view.get(key), bool)
        },
        AUTHOR_FIELD: did,
    }


def feed_item_time(entry: Any) -> tuple[datetime, bool]:
    """When a feed item entered the author's feed (a repost: when it was reposted), and whether it is pinned."""
    if not isinstance(entry, dict) or not isinstance(entry.get("post"), dict):
        raise MalformedViewError("a feed item without a post")
    reason = entry.get("reason")
    kind = reason.get("$type") if isinstance(reason, dict) else None
    if kind == REPOST:
        assert isinstance(reason, dict)
        return parse_datetime(reason.get("indexedAt")), False
    return parse_datetime(entry["post"].get("indexedAt")), kind == PIN


def quoted_text(embed: Any) -> str | None:
    """The text of a quoted post (record or record-with-media embed), unless it is gone or its author opted out."""
    if not isinstance(embed, dict):
        return None
    if embed.get("$type") == QUOTE_WITH_MEDIA:
        embed = embed.get("record")
        if not isinstance(embed, dict):
            return None
    elif embed.get("$type") != QUOTE:
        return None
    quoted = embed.get("record")
    if not isinstance(quoted, dict) or quoted.get("$type") != QUOTED_RECORD:
        return None  # viewNotFound, viewBlocked, viewDetached, or a feed/list/labeler rather than a post
    value = quoted.get("value")
    if opted_out(quoted.get("author")) or not isinstance(value, dict):
        return None
    text = value.get("text")
    return text if isinstance(text, str) and text else None


def opted_out(author: Any) -> bool:
    """Whether the author carries the ``!no-unauthenticated`` label (not negated)."""
    labels = author.get("labels") if isinstance(author, dict) else None
    return isinstance(labels, list) and any(
        isinstance(label, dict) and label.get("val") == NO_UNAUTHENTICATED and not label.get("neg") for label in labels
    )


def created_at(value: Any, indexed_at: datetime) -> datetime:
    """The client's ``createdAt``, unless it is missing, unreadable, without a zone or far in the future."""
    try:
        created = parse_datetime(value)
    except MalformedViewError:
        return indexed_at
    return indexed_at if created > indexed_at + FUTURE_SLACK else created


def native_id(uri: Any) -> str:
    did, rkey = _at_post(uri)
    return f"bluesky:{did}/{rkey}"


def xrpc_error(response: Response) -> tuple[str | None, str]:
    """The ``{"error": name, "message": ...}`` of an XRPC error response, if it is one."""
    try:
        body = json.loads(response.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, ""
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return None, ""
    message = body.get("message")
    return body["error"], message[:120] if isinstance(message, str) else ""


def parse_datetime(value: Any) -> datetime:
    """An atproto datetime (RFC 3339 with a zone) as aware UTC; naive or unreadable ones are malformed."""
    if not isinstance(value, str):
        raise MalformedViewError(f"not a datetime: {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedViewError(f"unreadable datetime {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise MalformedViewError(f"datetime without a zone {value[:40]!r}")
    return parsed.astimezone(UTC)


def iso(value: datetime) -> str:
    """Millisecond UTC form, as atproto writes datetimes."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _at_post(uri: Any) -> tuple[str, str]:
    match = _AT_POST.match(uri) if isinstance(uri, str) else None
    if match is None:
        raise MalformedViewError(f"not a post at-URI: {str(uri)[:80]!r}")
    return match["did"], match["rkey"]


def _ref_id(ref: Any) -> str | None:
    """The post id a strongRef ({uri, cid}) points at; None if absent or not a post."""
    try:
        return native_id(ref.get("uri")) if isinstance(ref, dict) else None
    except MalformedViewError:
        return None
