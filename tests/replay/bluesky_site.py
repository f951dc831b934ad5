"""A Bluesky AppView and PDS as a replay site: XRPC JSON shaped after the official lexicons.

Serves ``app.bsky.feed.getAuthorFeed`` (newest first by ``sortAt``, opaque cursor, ``limit``),
``com.atproto.server.createSession`` (POST) and ``app.bsky.feed.searchPosts``, which answers 403
``AuthMissing`` without a Bearer token from createSession. The content (tests/fixtures/bluesky/feeds.json)
has reposts, replies, quotes with and without media, a deleted post (``notFoundPost`` / ``viewNotFound``
where it is referenced), an author with the ``!no-unauthenticated`` self-label, future and backdated
``createdAt``, and facets with UTF-8 byte offsets.

Fault modes, each used up once (so a retry then succeeds): ``rate_limited`` (429 + Retry-After),
``server_error`` (500), ``slow`` (sleeps, then answers), ``block_page`` (403 HTML), ``challenge_page``
(200 HTML), ``garbage`` (200 broken JSON), ``wrong_shape`` (200 JSON of another shape). Keys are
``feed:<actor>``, ``search:<term>`` and ``session``. ``robots`` replaces robots.txt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from demo.flashback_site import Page
from demo.replay import Request

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "bluesky" / "feeds.json"
ANCHOR = datetime(2026, 9, 1, tzinfo=UTC)
"""Record keys (TIDs) are derived from this fixed date, so ids stay the same whatever ``now`` is."""

POST = "app.bsky.feed.post"
ROBOTS = "User-agent: *\nAllow: /\n"
HANDLE = "vaktpost-test.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"  # the replay's own, fictional
_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
_TOKENS = re.compile(
    r"(?P<url>https?://[^\s]+[^\s.,!?])|(?P<tag>(?<!\w)#\w+)|(?P<mention>(?<!\w)@[a-z0-9.-]+\.[a-z]+)", re.I
)
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class Received(Request):
    """A request as the site logged it, with when it came: the tests time the client's retries."""

    received: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Fault:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0
    then_answer: bool = False  # slow: wait, then answer normally


def rate_limited(retry_after: int = 1) -> Fault:
    return Fault(
        429,
        b'{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}',
        headers=(("Retry-After", str(retry_after)), *_rate_headers(0)),
    )


def server_error() -> Fault:
    return Fault(500, b'{"error":"InternalServerError","message":"Internal Server Error"}')


def slow(seconds: float = 3.0) -> Fault:
    return Fault(200, b"", delay_s=seconds, then_answer=True)


def block_page() -> Fault:
    return Fault(403, b"<html><body><h1>Request forbidden by administrative rules.</h1></body></html>", "text/html")


def challenge_page() -> Fault:
    body = b"<html><head><title>Just a moment...</title></head><body><div id='cf-challenge'></div></body></html>"
    return Fault(200, body, "text/html; charset=UTF-8")


def garbage() -> Fault:
    return Fault(200, b'{"feed":[{"post":{"uri":"at://did:plc:x/app.bsky.feed.post/3k\xff\xfe', "application/json")


def wrong_shape() -> Fault:
    return Fault(200, b'{"data":{"items":[]},"ok":true}')


@dataclass(frozen=True)
class Actor:
    key: str
    did: str
    handle: str
    display_name: str
    created_at: datetime
    opted_out: bool = False


@dataclass(frozen=True)
class FixturePost:
    key: str
    author: Actor
    text: str
    indexed_at: datetime
    created_at: datetime
    rkey: str
    langs: tuple[str, ...] | None
    likes: int
    reply_to: str | None
    quote: str | None
    images: tuple[str, ...]
    deleted: bool

    @property
    def uri(self) -> str:
        return f"at://{self.author.did}/{POST}/{self.rkey}"

    @property
    def sort_at(self) -> datetime:
        """The AppView orders by the earlier of createdAt and indexedAt: a future date cannot jump the queue."""
        return min(self.created_at, self.indexed_at)


@dataclass(frozen=True)
class Repost:
    by: Actor
    post: FixturePost
    indexed_at: datetime
    rkey: str

    @property
    def uri(self) -> str:
        return f"at://{self.by.did}/app.bsky.feed.repost/{self.rkey}"


class BlueskySite:
    """The fixture as an AppView (feeds, search) and a PDS (sessions); ``hide_within_hours`` hides the newest."""

    def __init__(
        self,
        now: datetime | None = None,
        *,
        hide_within_hours: float = 0.0,
        faults: dict[str, list[Fault]] | None = None,
        robots: str = ROBOTS,
        forget_tokens: bool = False,
        blocked: dict[str, str] | None = None,
        fixture: Path = FIXTURE,
    ) -> None:
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.faults = {key: list(value) for key, value in (faults or {}).items()}
        self.robots = robots
        self.forget_tokens = forget_tokens
        self.blocked = blocked or {"blockerad.bsky.social": "BlockedActor", "blockerar.bsky.social": "BlockedByActor"}
        self.log: list[Received] = []
        self.sessions = 0
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        data = json.loads(fixture.read_text(encoding="utf-8"))
        self.actors = {a["key"]: self._actor(a) for a in data["actors"]}
        self.posts = {p["key"]: self._post(p) for p in data["posts"]}
        self.reposts = [
            Repost(
                self.actors[r["by"]],
                self.posts[r["post"]],
                self._at(r["hours_ago"]),
                _tid(ANCHOR - timedelta(hours=r["hours_ago"]), 7),
            )
            for r in data["reposts"]
        ]
        cutoff = self.now - timedelta(hours=hide_within_hours)
        self.visible = {k: p for k, p in self.posts.items() if not p.deleted and p.indexed_at <= cutoff}
        self.visible_reposts = [r for r in self.reposts if r.indexed_at <= cutoff and r.post.key in self.visible]

    # -- the fixture -------------------------------------------------------------------------------

    def _at(self, hours_ago: float) -> datetime:
        return self.now - timedelta(hours=hours_ago)

    def _actor(self, raw: dict[str, Any]) -> Actor:
        created = self.now - timedelta(days=raw["days_old"])
        return Actor(raw["key"], raw["did"], raw["handle"], raw["displayName"], created, raw.get("opted_out", False))

    def _post(self, raw: dict[str, Any]) -> FixturePost:
        indexed = self._at(raw["hours_ago"])
        offset = timedelta(minutes=raw["created_offset_minutes"]) if "created_offset_minutes" in raw else None
        created = indexed + offset if offset is not None else indexed - timedelta(milliseconds=1200)
        return FixturePost(
            key=raw["key"],
            author=self.actors[raw["author"]],
            text=raw["text"],
            indexed_at=indexed,
            created_at=created,
            rkey=_tid(ANCHOR - timedelta(hours=raw["hours_ago"]), 3),
            langs=tuple(raw["langs"]) if "langs" in raw else None,
            likes=raw.get("likes", 0),
            reply_to=raw.get("reply_to"),
            quote=raw.get("quote"),
            images=tuple(raw.get("images", ())),
            deleted=raw.get("deleted", False),
        )

    def root_of(self, post: FixturePost) -> FixturePost:
        while post.reply_to:
            post = self.posts[post.reply_to]
        return post

    def feed_items(self, actor: Actor) -> list[tuple[datetime, FixturePost, Repost | None]]:
        """The actor's posts and reposts, newest first as the AppView sorts them."""
        items: list[tuple[datetime, FixturePost, Repost | None]] = [
            (p.sort_at, p, None) for p in self.visible.values() if p.author is actor
        ]
        items += [(r.indexed_at, r.post, r) for r in self.visible_reposts if r.by is actor]
        return sorted(items, key=lambda item: (item[0], item[1].rkey), reverse=True)

    # -- HTTP --------------------------------------------------------------------------------------

    def handle(self, path: str, query: str, host: str = "") -> Page:
        """An anonymous GET, for tests that ask the site directly."""
        return self.respond(Request("GET", path, query, host))

    def respond(self, request: Request) -> Page:
        """The RequestSite protocol of demo.replay: XRPC needs the method, the Bearer token and the POST body."""
        logged = Received(request.method, request.path, request.query, request.host, request.headers, request.body)
        with self._lock:
            self.log.append(logged)
        params = {key: values for key, values in parse_qs(request.query).items()}
        one = {key: values[-1] for key, values in params.items()}
        if request.path == "/robots.txt":
            return Page(200, self.robots.encode(), "text/plain; charset=utf-8")
        if not request.path.startswith("/xrpc/"):
            return Page(404, b"Not Found", "text/plain; charset=utf-8")
        method = request.path.removeprefix("/xrpc/")
        if method == "com.atproto.server.createSession":
            return self._fault("session") or self._create_session(request)
        if method == "app.bsky.feed.getAuthorFeed":
            return self._fault(f"feed:{one.get('actor', '')}") or self._author_feed(one)
        if method == "app.bsky.feed.searchPosts":
            return self._fault(f"search:{one.get('q', '')}") or self._search(one, request)
        return _error(501, "MethodNotImplemented", "Method Not Implemented")

    def _fault(self, key: str) -> Page | None:
        with self._lock:
            queue = self.faults.get(key)
            fault = queue.pop(0) if queue else None
        if fault is None:
            return None
        if fault.delay_s:
            time.sleep(fault.delay_s)
        if fault.then_answer:
            return None
        return Page(fault.status, fault.body, fault.content_type, fault.headers)

    def _create_session(self, request: Request) -> Page:
        if request.method != "POST":
            return _error(405, "InvalidRequest", "Method Not Allowed")
        try:
            body = json.loads(request.body)
            identifier, password = body["identifier"], body["password"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "InvalidRequest", 'Input must have the property "identifier"')
        if identifier.lower().lstrip("@") != HANDLE or password != APP_PASSWORD:
            return _error(401, "AuthenticationRequired", "Invalid identifier or password")
        with self._lock:
            self.sessions += 1
            token = _jwt(
                {"scope": "com.atproto.appPass", "sub": "did:plc:vaktposttest2x7q4k5m3n6p", "n": self.sessions}
            )
            self._tokens.add(token)
        return _json(
            {
                "accessJwt": token,
                "refreshJwt": _jwt({"scope": "com.atproto.refresh", "n": self.sessions}),
                "handle": HANDLE,
                "did": "did:plc:vaktposttest2x7q4k5m3n6p",
                "didDoc": {"id": "did:plc:vaktposttest2x7q4k5m3n6p"},
                "active": True,
            }
        )

    def _author_feed(self, params: dict[str, str]) -> Page:
        if "actor" not in params:
            return _error(400, "InvalidRequest", 'Error: Params must have the property "actor"')
        name = params["actor"].lower()
        if name in self.blocked:
            names = {"BlockedActor": "Requester has blocked actor", "BlockedByActor": "Requester is blocked by actor"}
            return _error(400, self.blocked[name], names[self.blocked[name]])
        actor = next((a for a in self.actors.values() if name in (a.handle, a.did)), None)
        if actor is None:
            return _error(400, "InvalidRequest", "Profile not found")
        try:
            limit = _limit(params.get("limit"), 50)
        except ValueError:
            return _error(400, "InvalidRequest", "Error: limit must be an integer between 1 and 100")
        items = self.feed_items(actor)
        if cursor := params.get("cursor"):
            try:
                when, _, rkey = cursor.partition("::")
                after = (datetime.fromisoformat(when), rkey)
            except ValueError:
                return _error(400, "InvalidRequest", "Malformed cursor")
            items = [i for i in items if (i[0], i[1].rkey) < after]
        page = items[:limit]
        body: dict[str, Any] = {"feed": [self._feed_view(at, post, repost) for at, post, repost in page]}
        if len(items) > limit:
            last_at, last_post, _ = page[-1]
            body["cursor"] = f"{_iso(last_at)}::{last_post.rkey}"
        return _json(body)

    def _search(self, params: dict[str, str], request: Request) -> Page:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or self.forget_tokens:
            return _error(403, "AuthMissing", "Authentication Required")
        if auth.removeprefix("Bearer ") not in self._tokens:
            return _error(401, "InvalidToken", "Token could not be verified")
        if not params.get("q"):
            return _error(400, "InvalidRequest", 'Error: Params must have the property "q"')
        try:
            limit = _limit(params.get("limit"), 25)
            offset = int(params.get("cursor", "0"))
            since = _when(params["since"]) if "since" in params else None
        except ValueError:
            return _error(400, "BadQueryString", "Bad query string")
        wanted = [w.lower() for w in _WORDS.findall(params["q"])]
        hits = [
            p
            for p in self.visible.values()
            if all(w in {t.lower() for t in _WORDS.findall(p.text)} for w in wanted)
            and (since is None or p.sort_at >= since)
            and ("lang" not in params or (p.langs is not None and params["lang"] in p.langs))
        ]
        hits.sort(key=lambda p: (p.sort_at, p.rkey), reverse=True)
        page = hits[offset : offset + limit]
        body: dict[str, Any] = {"posts": [self._post_view(p) for p in page], "hitsTotal": len(hits)}
        if offset + limit < len(hits):
            body["cursor"] = str(offset + limit)
        return _json(body)

    # -- views (app.bsky.feed.defs, app.bsky.actor.defs, app.bsky.embed.*) ------------------------

    def _profile(self, actor: Actor) -> dict[str, Any]:
        view: dict[str, Any] = {
            "did": actor.did,
            "handle": actor.handle,
            "displayName": actor.display_name,
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{actor.did}/{_cid(actor.did)}@jpeg",
            "associated": {"chat": {"allowIncoming": "following"}},
            "labels": [],
            "createdAt": _iso(actor.created_at),
        }
        if actor.opted_out:
            view["labels"] = [
                {
                    "src": actor.did,
                    "uri": f"at://{actor.did}/app.bsky.actor.profile/self",
                    "cid": _cid(f"{actor.did}/profile"),
                    "val": "!no-unauthenticated",
                    "cts": _iso(actor.created_at),
                }
            ]
        return view

    def _record(self, post: FixturePost) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": POST, "createdAt": _iso(post.created_at), "text": post.text}
        if post.langs is not None:
            record["langs"] = list(post.langs)
        if facets := self._facets(post.text):
            record["facets"] = facets
        if post.reply_to:
            parent, root = self.posts[post.reply_to], self.root_of(post)
            record["reply"] = {
                "root": {"uri": root.uri, "cid": _cid(root.key)},
                "parent": {"uri": parent.uri, "cid": _cid(parent.key)},
            }
        images = [
            {
                "alt": alt,
                "image": {
                    "$type": "blob",
                    "ref": {"$link": _cid(f"{post.key}/{n}")},
                    "mimeType": "image/jpeg",
                    "size": 181_000 + n,
                },
                "aspectRatio": {"width": 1200, "height": 1600},
            }
            for n, alt in enumerate(post.images)
        ]
        if post.quote:
            quoted = self.posts[post.quote]
            ref = {"$type": "app.bsky.embed.record", "record": {"uri": quoted.uri, "cid": _cid(quoted.key)}}
            record["embed"] = (
                {"$type": "app.bsky.embed.recordWithMedia", "record": ref, "media": _images(images)} if images else ref
            )
        elif images:
            record["embed"] = _images(images)
        return record

    def _facets(self, text: str) -> list[dict[str, Any]]:
        """Mentions, links and tags, indexed in UTF-8 bytes as the lexicon requires (å, ä, ö are two bytes)."""
        facets = []
        for match in _TOKENS.finditer(text):
            start = len(text[: match.start()].encode("utf-8"))
            end = start + len(match.group().encode("utf-8"))
            if match["url"]:
                feature = {"$type": "app.bsky.richtext.facet#link", "uri": match["url"]}
            elif match["tag"]:
                feature = {"$type": "app.bsky.richtext.facet#tag", "tag": match["tag"][1:]}
            else:
                actor = next((a for a in self.actors.values() if a.handle == match["mention"][1:]), None)
                if actor is None:
                    continue
                feature = {"$type": "app.bsky.richtext.facet#mention", "did": actor.did}
            facets.append({"index": {"byteStart": start, "byteEnd": end}, "features": [feature]})
        return facets

    def _embed_view(self, post: FixturePost) -> dict[str, Any] | None:
        cdn = "https://cdn.bsky.app/img"
        images = [
            {
                "thumb": f"{cdn}/feed_thumbnail/plain/{post.author.did}/{_cid(f'{post.key}/{n}')}@jpeg",
                "fullsize": f"{cdn}/feed_fullsize/plain/{post.author.did}/{_cid(f'{post.key}/{n}')}@jpeg",
                "alt": alt,
                "aspectRatio": {"width": 1200, "height": 1600},
            }
            for n, alt in enumerate(post.images)
        ]
        media = {"$type": "app.bsky.embed.images#view", "images": images}
        if not post.quote:
            return media if images else None
        quoted = self.posts[post.quote]
        record: dict[str, Any]
        if quoted.key not in self.visible:
            record = {"$type": "app.bsky.embed.record#viewNotFound", "uri": quoted.uri, "notFound": True}
        else:
            record = {
                "$type": "app.bsky.embed.record#viewRecord",
                "uri": quoted.uri,
                "cid": _cid(quoted.key),
                "author": self._profile(quoted.author),
                "value": self._record(quoted),
                "labels": [],
                "likeCount": quoted.likes,
                "replyCount": self.count_replies(quoted),
                "repostCount": self.count_reposts(quoted),
                "quoteCount": self.count_quotes(quoted),
                "indexedAt": _iso(quoted.indexed_at),
                "embeds": [e] if (e := self._embed_view(quoted)) and not quoted.quote else [],
            }
        view = {"$type": "app.bsky.embed.record#view", "record": record}
        if images:
            return {"$type": "app.bsky.embed.recordWithMedia#view", "record": view, "media": media}
        return view

    def count_replies(self, post: FixturePost) -> int:
        return sum(1 for p in self.visible.values() if p.reply_to == post.key)

    def count_reposts(self, post: FixturePost) -> int:
        return sum(1 for r in self.visible_reposts if r.post is post)

    def count_quotes(self, post: FixturePost) -> int:
        return sum(1 for p in self.visible.values() if p.quote == post.key)

    def _post_view(self, post: FixturePost) -> dict[str, Any]:
        view: dict[str, Any] = {
            "uri": post.uri,
            "cid": _cid(post.key),
            "author": self._profile(post.author),
            "record": self._record(post),
            "bookmarkCount": 0,
            "replyCount": self.count_replies(post),
            "repostCount": self.count_reposts(post),
            "likeCount": post.likes,
            "quoteCount": self.count_quotes(post),
            "indexedAt": _iso(post.indexed_at),
            "viewer": {"threadMuted": False, "embeddingDisabled": False},
            "labels": [],
        }
        if (embed := self._embed_view(post)) is not None:
            view["embed"] = embed
        return view

    def _ref_view(self, post: FixturePost) -> dict[str, Any]:
        if post.key in self.visible:
            return {"$type": "app.bsky.feed.defs#postView", **self._post_view(post)}
        return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": post.uri, "notFound": True}

    def _feed_view(self, at: datetime, post: FixturePost, repost: Repost | None) -> dict[str, Any]:
        item: dict[str, Any] = {"post": self._post_view(post)}
        if post.reply_to:
            parent = self.posts[post.reply_to]
            item["reply"] = {"root": self._ref_view(self.root_of(post)), "parent": self._ref_view(parent)}
            if parent.reply_to:
                item["reply"]["grandparentAuthor"] = self._profile(self.posts[parent.reply_to].author)
        if repost is not None:
            item["reason"] = {
                "$type": "app.bsky.feed.defs#reasonRepost",
                "by": self._profile(repost.by),
                "uri": repost.uri,
                "cid": _cid(repost.uri),
                "indexedAt": _iso(repost.indexed_at),
            }
        return item


def _images(images: list[dict[str, Any]]) -> dict[str, Any]:
    return {"$type": "app.bsky.embed.images", "images": images}


def _json(body: dict[str, Any]) -> Page:
    return Page(
        200,
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        "application/json; charset=utf-8",
        _rate_headers(2999),
    )


def _error(status: int, error: str, message: str) -> Page:
    body = json.dumps({"error": error, "message": message}).encode()
    return Page(status, body, "application/json; charset=utf-8", _rate_headers(2999))


def _rate_headers(remaining: int) -> tuple[tuple[str, str], ...]:
    return (
        ("RateLimit-Limit", "3000"),
        ("RateLimit-Remaining", str(remaining)),
        ("RateLimit-Reset", str(int(time.time()) + 300)),
        ("RateLimit-Policy", "3000;w=300"),
    )


def _limit(value: str | None, default: int) -> int:
    limit = default if value is None else int(value)
    if not 1 <= limit <= 100:
        raise ValueError(limit)
    return limit


def _when(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _tid(when: datetime, clock: int) -> str:
    """A record key as atproto makes them: microseconds and a clock id in sortable base32, 13 characters."""
    number = (int(when.timestamp() * 1_000_000) << 10) | clock
    chars = []
    for _ in range(13):
        chars.append(_TID_CHARS[number & 31])
        number >>= 5
    return "".join(reversed(chars))


def _cid(seed: str) -> str:
    """A well-formed CIDv1 (dag-cbor, sha-256) in base32, derived from ``seed``."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return "b" + base64.b32encode(b"\x01\x71\x12\x20" + digest).decode("ascii").lower().rstrip("=")


def _jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    signature = base64.urlsafe_b64encode(hashlib.sha256(json.dumps(claims).encode()).digest()).decode().rstrip("=")
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.{signature}"
