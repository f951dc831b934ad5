"""Reddit as the OAuth API answers a script with an application-only token, from tests/fixtures/reddit.

One host plays both of Reddit's: ``POST /api/v1/access_token`` (HTTP Basic client credentials) issues bearer
tokens; API paths (``/r/<sub>/new``, ``/r/<sub>/search``, ``/search``, ``/comments/<id36>``,
``/api/morechildren``, ``/api/info``) need one (401 JSON without), and ``.json`` paths without a token get the
403 HTML block page that www.reddit.com serves to scripts since 2024. Listings implement ``limit`` (≤ 100),
``after``/``before`` fullnames (an unknown anchor answers an empty page, as a deleted one does on Reddit),
``raw_json`` (without it ``&``, ``<``, ``>`` come escaped and ``*_html`` twice) and the ``x-ratelimit-*``
headers of a configurable window. Threads are arrays of two Listings with nested ``replies``, ``more`` stubs
and "continue this thread" stubs. Faults per path: 429 with Retry-After, 500, block pages, garbage, hangs,
revoked tokens; ``robots`` is the robots.txt text.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from demo.flashback_site import Page
from demo.replay import Request

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "reddit" / "threads.json"
CLIENT_ID = "vaktpost-test-app"
CLIENT_SECRET = "hemligt-test-secret"  # a made-up test credential
ROBOTS = "User-agent: *\nDisallow: /login\n"
BLOCK_PAGE = (
    "<!doctype html><html><head><title>Blocked</title></head><body><h1>whoa there, pardner!</h1>"
    "<p>Your request has been blocked due to a network policy.</p><p>You've been blocked by network security. "
    "To continue, log in to your Reddit account or use your developer token.</p></body></html>"
)
_JSON = "application/json; charset=UTF-8"
_SUBREDDIT_IDS = {"sweden": "t5_2qofe", "svenskpolitik": "t5_2sbw8"}


@dataclass
class Fault:
    """One faulty answer for a path: wait ``sleep_s``, optionally revoke every token, then ``page`` (or normal)."""

    page: Page | None = None
    sleep_s: float = 0.0
    revoke_tokens: bool = False

    @staticmethod
    def too_many(retry_after: int) -> Fault:
        body = b'{"message": "Too Many Requests", "error": 429}'
        return Fault(Page(429, body, _JSON, (("Retry-After", str(retry_after)),)))

    @staticmethod
    def server_error() -> Fault:
        return Fault(Page(500, b"<html><body>all of our servers are busy right now</body></html>", "text/html"))

    @staticmethod
    def blocked(status: int = 403) -> Fault:
        return Fault(Page(status, BLOCK_PAGE.encode(), "text/html; charset=utf-8"))

    @staticmethod
    def garbage() -> Fault:
        return Fault(Page(200, b'{"kind": "Listing", "data": {"children": [{"kind": "t3", "da', _JSON))

    @staticmethod
    def not_a_listing() -> Fault:
        return Fault(Page(200, b'{"json": {"errors": [["SUBREDDIT_NOEXIST", "hmm"]]}}', _JSON))

    @staticmethod
    def hang(seconds: float) -> Fault:
        return Fault(sleep_s=seconds)


@dataclass
class Comment:
    id: str
    author: str
    age_min: float
    body: str | None
    score: int
    parent: str  # fullname
    replies: list[Comment]
    deleted: bool = False
    removed: bool = False
    more: bool = False  # listed in a ``more`` stub at its level, not inline
    continued: bool = False  # behind a "continue this thread" stub

    @property
    def name(self) -> str:
        return f"t1_{self.id}"


@dataclass
class Submission:
    id: str
    subreddit: str
    author: str
    age_min: float
    title: str
    selftext: str | None
    score: int
    comments: list[Comment]
    link: str | None = None
    flair: str | None = None
    deleted: bool = False
    removed: str | None = None
    stickied: bool = False
    distinguished: str | None = None

    @property
    def name(self) -> str:
        return f"t3_{self.id}"


def load_fixture(path: Path = FIXTURE) -> tuple[dict[str, str], list[Submission]]:
    raw = json.loads(path.read_text(encoding="utf-8"))

    def comment(item: dict[str, Any], parent: str) -> Comment:
        name = f"t1_{item['id']}"
        return Comment(
            id=item["id"],
            author=item["author"],
            age_min=item["age_min"],
            body=item.get("body"),
            score=item.get("score", 1),
            parent=parent,
            replies=[comment(reply, name) for reply in item.get("replies", [])],
            deleted=item.get("deleted", False),
            removed=item.get("removed", False),
            more=item.get("more", False),
            continued=item.get("continued", False),
        )

    posts = [
        Submission(
            id=p["id"],
            subreddit=p["subreddit"],
            author=p["author"],
            age_min=p["age_min"],
            title=p["title"],
            selftext=p.get("selftext"),
            score=p.get("score", 1),
            comments=[comment(c, f"t3_{p['id']}") for c in p.get("comments", [])],
            link=p.get("link"),
            flair=p.get("flair"),
            deleted=p.get("deleted", False),
            removed=p.get("removed"),
            stickied=p.get("stickied", False),
            distinguished=p.get("distinguished"),
        )
        for p in raw["posts"]
    ]
    return raw["users"], posts


def walk_comments(comments: list[Comment]) -> Iterator[Comment]:
    for comment in comments:
        yield comment
        yield from walk_comments(comment.replies)


class RedditSite:
    """The fixture through Reddit's OAuth API. Tests may change ``hide_younger_than_min``, ``faults`` etc."""

    def __init__(self, fixture: Path = FIXTURE, now: float | None = None) -> None:
        self.users, self.posts = load_fixture(fixture)
        self.now = time.time() if now is None else now
        self.hide_younger_than_min: float | None = None
        self.faults: dict[str, list[Fault]] = {}
        self.robots = ROBOTS
        self.recorded: dict[str, bytes] = {}  # API path -> a recorded body, served as the first page
        self.ratelimit_budget = 1000
        self.ratelimit_window_s = 600.0
        self.over_limit = 0  # requests answered 429 because the client ignored x-ratelimit-remaining
        self.seen: list[tuple[str, str, str, float]] = []  # method, path?query, user agent, monotonic time
        self.tokens: set[str] = set()
        self.tokens_issued = 0
        self._window_start = time.monotonic()
        self._used = 0
        self._lock = threading.Lock()

    # -- what is visible -------------------------------------------------------------------------

    def created(self, age_min: float) -> float:
        return float(int(self.now - age_min * 60))

    def visible(self, age_min: float) -> bool:
        return self.hide_younger_than_min is None or age_min >= self.hide_younger_than_min

    def submissions(self) -> list[Submission]:
        return sorted((p for p in self.posts if self.visible(p.age_min)), key=lambda p: p.age_min)

    def comments_of(self, post: Submission) -> list[Comment]:
        return [c for c in walk_comments(post.comments) if self.visible(c.age_min)]

    # -- requests ----------------------------------------------------------------------------------

    def respond(self, request: Request) -> Page:
        """The RequestSite protocol of demo.replay: the token endpoint is a POST, the API reads Authorization."""
        path, query = request.path, request.query
        target = f"{path}?{query}" if query else path
        self.seen.append((request.method, target, request.headers.get("user-agent", ""), time.monotonic()))
        faults = self.faults.get(path)
        if faults:
            fault = faults.pop(0)
            if fault.sleep_s:
                time.sleep(fault.sleep_s)
            if fault.revoke_tokens:
                self.tokens.clear()
            if fault.page is not None:
                return fault.page
        if path == "/robots.txt":
            return Page(200, self.robots.encode(), "text/plain; charset=utf-8")
        if path == "/api/v1/access_token":
            return self._token(request)
        params = {key: values[-1] for key, values in parse_qs(query).items()}
        authorised = request.headers.get("authorization", "").removeprefix("bearer ").strip() in self.tokens
        if path.endswith(".json"):
            if not authorised:
                return Page(403, BLOCK_PAGE.encode(), "text/html; charset=utf-8")
            path = path.removesuffix(".json")
        if not authorised:
            return Page(
                401,
                b'{"message": "Unauthorized", "error": 401}',
                _JSON,
                (("www-authenticate", 'Bearer realm="reddit", error="invalid_token"'),),
            )
        with self._lock:
            limits = self._count()
        if limits is None:
            self.over_limit += 1
            return Page(429, b'{"message": "Too Many Requests", "error": 429}', _JSON, self._limit_headers())
        page = self._api(path.rstrip("/") or "/", params)
        return Page(page.status, page.body, page.content_type, page.headers + limits)

    def _token(self, request: Request) -> Page:
        if request.method != "POST":
            return Page(405, b'{"message": "Method Not Allowed", "error": 405}', _JSON)
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization", "") != f"Basic {expected}":
            return Page(401, b'{"message": "Unauthorized", "error": 401}', _JSON)
        if parse_qs(request.body.decode("utf-8")).get("grant_type") != ["client_credentials"]:
            return Page(400, b'{"error": "unsupported_grant_type"}', _JSON)
        self.tokens_issued += 1
        token = f"tok-{self.tokens_issued}-{int(self.now)}"
        self.tokens.add(token)
        answer = {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        return Page(200, json.dumps(answer).encode(), _JSON)

    def _count(self) -> tuple[tuple[str, str], ...] | None:
        """Count one request in the rate-limit window; None when the window's budget is already spent."""
        if time.monotonic() - self._window_start >= self.ratelimit_window_s:
            self._window_start, self._used = time.monotonic(), 0
        if self._used >= self.ratelimit_budget:
            return None
        self._used += 1
        return self._limit_headers()

    def _limit_headers(self) -> tuple[tuple[str, str], ...]:
        left = max(0.0, self._window_start + self.ratelimit_window_s - time.monotonic())
        return (
            ("x-ratelimit-used", str(self._used)),
            ("x-ratelimit-remaining", f"{float(max(self.ratelimit_budget - self._used, 0)):.1f}"),
            ("x-ratelimit-reset", str(int(-(-left // 1)))),
        )

    def _api(self, path: str, params: dict[str, str]) -> Page:
        legacy = params.get("raw_json") != "1"
        if path in self.recorded:
            return self._listing([], params, legacy) if params.get("after") else Page(200, self.recorded[path], _JSON)
        if match := re.fullmatch(r"/r/(?P<subs>[\w+]+)/new", path):
            wanted = set(match["subs"].lower().split("+"))
            return self._listing([p for p in self.submissions() if p.subreddit in wanted], params, legacy)
        if match := re.fullmatch(r"(?:/r/(?P<subs>[\w+]+))?/search", path):
            if not params.get("q"):
                return self._listing([], params, legacy)
            restricted = bool(match["subs"]) and params.get("restrict_sr") in ("1", "true", "on")
            subs = set(match["subs"].lower().split("+")) if restricted else None
            hits = [p for p in self.submissions() if (subs is None or p.subreddit in subs) and _hit(p, params["q"])]
            return self._listing(hits, params, legacy)
        if match := re.fullmatch(r"/comments/(?P<id>[0-9a-z]+)(?:/[^/]*)?(?:/(?P<focal>[0-9a-z]+))?", path):
            return self._thread(match["id"], params.get("comment") or match["focal"], legacy)
        if path == "/api/morechildren":
            return self._more(params, legacy)
        if path == "/api/info":
            return self._info(params, legacy)
        return Page(404, b'{"message": "Not Found", "error": 404}', _JSON)

    # -- listings ----------------------------------------------------------------------------------

    def _listing(self, posts: list[Submission], params: dict[str, str], legacy: bool) -> Page:
        try:
            limit = min(max(int(params.get("limit", 25)), 1), 100)
        except ValueError:
            limit = 25
        names = [p.name for p in posts]  # newest first
        start, end = 0, len(posts)
        if after := params.get("after"):
            start = names.index(after) + 1 if after in names else end
        elif before := params.get("before"):
            end = names.index(before) if before in names else 0
            start = max(0, end - limit)
        page = posts[start : min(end, start + limit)]
        more_after = bool(page) and start + len(page) < len(posts) and not params.get("before")
        more_before = bool(page) and start > 0
        data = {
            "after": page[-1].name if more_after else None,
            "dist": len(page),
            "modhash": "",
            "geo_filter": "",
            "children": [{"kind": "t3", "data": self._submission(p, legacy)} for p in page],
            "before": page[0].name if more_before else None,
        }
        return _json({"kind": "Listing", "data": data})

    def _info(self, params: dict[str, str], legacy: bool) -> Page:
        wanted = [name for name in params.get("id", "").split(",") if name][:100]
        by_name = {p.name: p for p in self.submissions()}
        children = [{"kind": "t3", "data": self._submission(by_name[n], legacy)} for n in wanted if n in by_name]
        data = {"after": None, "dist": len(children), "modhash": "", "geo_filter": "", "children": children}
        return _json({"kind": "Listing", "data": {**data, "before": None}})

    # -- threads -----------------------------------------------------------------------------------

    def _thread(self, id36: str, focal: str | None, legacy: bool) -> Page:
        post = next((p for p in self.submissions() if p.id == id36), None)
        if post is None:
            return Page(404, b'{"message": "Not Found", "error": 404}', _JSON)
        head = {"kind": "t3", "data": self._submission(post, legacy)}
        if focal:
            comment = next((c for c in self.comments_of(post) if c.id == focal), None)
            if comment is None:
                return Page(404, b'{"message": "Not Found", "error": 404}', _JSON)
            tree = [self._comment_thing(post, comment, depth=0, legacy=legacy, focal=True)]
        else:
            tree = self._level(post, post.comments, depth=0, legacy=legacy, parent=post.name)
        return _json([_comment_listing([head], dist=1), _comment_listing(tree)])

    def _level(self, post: Submission, comments: list[Comment], depth: int, legacy: bool, parent: str) -> list[Any]:
        shown = sorted((c for c in comments if self.visible(c.age_min)), key=lambda c: c.age_min)  # sort=new
        inline = [self._comment_thing(post, c, depth, legacy) for c in shown if not c.more and not c.continued]
        stubs: list[Any] = []
        collapsed = [c for c in shown if c.more]
        if collapsed:
            ids = [c.id for c in collapsed]
            count = sum(1 + len(self._visible_below(c)) for c in collapsed)
            data = {"count": count, "name": f"t1_{ids[0]}", "id": ids[0], "parent_id": parent, "depth": depth}
            stubs.append({"kind": "more", "data": {**data, "children": ids}})
        if any(c.continued for c in shown):
            data = {"count": 0, "name": "t1__", "id": "_", "parent_id": parent, "depth": depth, "children": []}
            stubs.append({"kind": "more", "data": data})
        return inline + stubs

    def _visible_below(self, comment: Comment) -> list[Comment]:
        return [c for c in walk_comments(comment.replies) if self.visible(c.age_min)]

    def _comment_thing(
        self, post: Submission, comment: Comment, depth: int, legacy: bool, focal: bool = False
    ) -> dict[str, Any]:
        data = self._comment(post, comment, depth, legacy)
        if focal:  # the focal page shows the comment's replies in full
            replies = [self._comment_thing(post, c, depth + 1, legacy, focal=True) for c in comment.replies
                       if self.visible(c.age_min)]  # fmt: skip
        else:
            replies = self._level(post, comment.replies, depth + 1, legacy, comment.name)
        data["replies"] = _comment_listing(replies) if replies else ""
        return {"kind": "t1", "data": data}

    def _more(self, params: dict[str, str], legacy: bool) -> Page:
        if params.get("api_type") != "json":
            return Page(200, b'{"jquery": []}', _JSON)  # Reddit's old jQuery answer, useless to an API client
        post = next((p for p in self.submissions() if p.name == params.get("link_id")), None)
        wanted = set(params.get("children", "").split(",")[:100])
        if post is None or not wanted:
            return _json({"json": {"errors": [["INVALID_ID", "that ID is invalid", "link_id"]]}})
        depths = {c.id: d for c, d in _with_depth(post.comments, 0)}
        things = []
        for comment in self.comments_of(post):
            if comment.id in wanted:
                for item in [comment, *self._visible_below(comment)]:
                    data = self._comment(post, item, depths[item.id], legacy)
                    things.append({"kind": "t1", "data": {**data, "replies": ""}})
        return _json({"json": {"errors": [], "data": {"things": things}}})

    # -- things ------------------------------------------------------------------------------------

    def _submission(self, post: Submission, legacy: bool) -> dict[str, Any]:
        gone = "[deleted]" if post.deleted else "[removed]" if post.removed else None
        author = "[deleted]" if post.deleted else post.author
        selftext = gone or post.selftext or ""
        permalink = f"/r/{post.subreddit}/comments/{post.id}/{_slug(post.title)}/"
        created = self.created(post.age_min)
        data: dict[str, Any] = {
            "approved_at_utc": None,
            "subreddit": post.subreddit,
            "selftext": _legacy(selftext, legacy),
            "user_reports": [],
            "saved": False,
            "mod_reason_title": None,
            "gilded": 0,
            "clicked": False,
            "title": _legacy(post.title, legacy),
            "link_flair_richtext": [],
            "subreddit_name_prefixed": f"r/{post.subreddit}",
            "hidden": False,
            "pwls": 6,
            "link_flair_css_class": None,
            "downs": 0,
            "hide_score": False,
            "name": post.name,
            "quarantine": False,
            "link_flair_text_color": "dark",
            "upvote_ratio": 0.93,
            "subreddit_type": "public",
            "ups": post.score,
            "total_awards_received": 0,
            "media_embed": {},
            "is_original_content": False,
            "secure_media": None,
            "is_reddit_media_domain": False,
            "is_meta": False,
            "category": None,
            "secure_media_embed": {},
            "link_flair_text": post.flair,
            "can_mod_post": False,
            "score": post.score,
            "approved_by": None,
            "is_created_from_ads_ui": False,
            "author_premium": False,
            "thumbnail": "self" if post.link is None else "default",
            "edited": False,
            "author_flair_css_class": None,
            "author_flair_richtext": [],
            "gildings": {},
            "content_categories": None,
            "is_self": post.link is None,
            "mod_note": None,
            "created": created,
            "link_flair_type": "text",
            "wls": 6,
            "removed_by_category": "deleted" if post.deleted else post.removed,
            "banned_by": None,
            "author_flair_type": "text",
            "domain": f"self.{post.subreddit}" if post.link is None else post.link.split("/")[2],
            "allow_live_comments": False,
            "selftext_html": _legacy(_markdown_html(selftext), legacy) if selftext else None,
            "likes": None,
            "suggested_sort": None,
            "banned_at_utc": None,
            "view_count": None,
            "archived": False,
            "no_follow": False,
            "is_crosspostable": True,
            "pinned": False,
            "over_18": False,
            "all_awardings": [],
            "awarders": [],
            "media_only": False,
            "can_gild": False,
            "spoiler": False,
            "locked": False,
            "author_flair_text": None,
            "treatment_tags": [],
            "visited": False,
            "removed_by": None,
            "num_reports": None,
            "distinguished": post.distinguished,
            "subreddit_id": _SUBREDDIT_IDS.get(post.subreddit, "t5_2qh1i"),
            "author_is_blocked": False,
            "mod_reason_by": None,
            "removal_reason": None,
            "link_flair_background_color": "",
            "id": post.id,
            "is_robot_indexable": not (post.deleted or post.removed),
            "report_reasons": None,
            "author": author,
            "discussion_type": None,
            "num_comments": len(self.comments_of(post)),
            "send_replies": True,
            "contest_mode": False,
            "mod_reports": [],
            "author_patreon_flair": False,
            "author_flair_text_color": None,
            "permalink": permalink,
            "stickied": post.stickied,
            "url": post.link or f"https://www.reddit.com{permalink}",
            "subreddit_subscribers": 512344 if post.subreddit == "sweden" else 48211,
            "created_utc": created,
            "num_crossposts": 0,
            "media": None,
            "is_video": False,
        }
        if not post.deleted:
            data["author_fullname"] = self.users[post.author]
        return data

    def _comment(self, post: Submission, comment: Comment, depth: int, legacy: bool) -> dict[str, Any]:
        body = "[deleted]" if comment.deleted else "[removed]" if comment.removed else comment.body or ""
        author = "[deleted]" if comment.deleted or comment.removed else comment.author
        created = self.created(comment.age_min)
        data: dict[str, Any] = {
            "subreddit_id": _SUBREDDIT_IDS.get(post.subreddit, "t5_2qh1i"),
            "approved_at_utc": None,
            "author_is_blocked": False,
            "comment_type": None,
            "awarders": [],
            "mod_reason_by": None,
            "banned_by": None,
            "author_flair_type": "text",
            "total_awards_received": 0,
            "subreddit": post.subreddit,
            "author_flair_template_id": None,
            "likes": None,
            "replies": "",
            "user_reports": [],
            "saved": False,
            "id": comment.id,
            "banned_at_utc": None,
            "mod_reason_title": None,
            "gilded": 0,
            "archived": False,
            "collapsed_reason_code": "DELETED" if comment.deleted else None,
            "no_follow": comment.score < 2,
            "author": author,
            "can_mod_post": False,
            "created_utc": created,
            "send_replies": True,
            "parent_id": comment.parent,
            "score": comment.score,
            "approved_by": None,
            "mod_note": None,
            "all_awardings": [],
            "collapsed": comment.deleted or comment.removed,
            "body": _legacy(body, legacy),
            "edited": False,
            "top_awarded_type": None,
            "author_flair_css_class": None,
            "name": comment.name,
            "is_submitter": comment.author == post.author and not (comment.deleted or comment.removed),
            "downs": 0,
            "author_flair_richtext": [],
            "author_patreon_flair": False,
            "body_html": _legacy(_markdown_html(body), legacy),
            "removal_reason": None,
            "collapsed_reason": None,
            "distinguished": None,
            "associated_award": None,
            "stickied": False,
            "author_premium": False,
            "can_gild": True,
            "gildings": {},
            "unrepliable_reason": None,
            "author_flair_text_color": None,
            "score_hidden": False,
            "permalink": f"/r/{post.subreddit}/comments/{post.id}/{_slug(post.title)}/{comment.id}/",
            "subreddit_type": "public",
            "locked": False,
            "report_reasons": None,
            "created": created,
            "author_flair_text": None,
            "treatment_tags": [],
            "link_id": post.name,
            "subreddit_name_prefixed": f"r/{post.subreddit}",
            "controversiality": 0,
            "depth": depth,
            "author_flair_background_color": None,
            "collapsed_because_crowd_control": None,
            "mod_reports": [],
            "num_reports": None,
            "ups": comment.score,
        }
        if author != "[deleted]":
            data["author_fullname"] = self.users[comment.author]
        return data


def _with_depth(comments: list[Comment], depth: int) -> Iterator[tuple[Comment, int]]:
    for comment in comments:
        yield comment, depth
        yield from _with_depth(comment.replies, depth + 1)


def _hit(post: Submission, query: str) -> bool:
    """Reddit's search, roughly: every word of the query occurs as a word in the title or the text."""
    words = f"{post.title}\n{'' if post.deleted or post.removed else post.selftext or ''}".lower()
    return all(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", words) for w in query.lower().split())


def _comment_listing(children: list[Any], dist: int | None = None) -> dict[str, Any]:
    data = {"after": None, "dist": dist, "modhash": "", "geo_filter": "", "children": children, "before": None}
    return {"kind": "Listing", "data": data}


def _markdown_html(markdown: str) -> str:
    """Reddit's rendering of simple markdown: paragraphs and blockquotes in a ``div.md``."""
    blocks = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = block.splitlines()
        if lines and lines[0].lstrip().startswith(">"):
            inner = "\n".join(re.sub(r"^\s*>\s?", "", line) for line in lines)
            blocks.append(f"<blockquote>\n<p>{escape(inner)}</p>\n</blockquote>")
        else:
            text = escape(block).replace("**", "")
            blocks.append(f"<p>{text}</p>")
    return '<!-- SC_OFF --><div class="md">' + "\n\n".join(blocks) + "\n</div><!-- SC_ON -->"


def _legacy(text: str, legacy: bool) -> str:
    """Without raw_json=1 Reddit escapes & < > in strings (so the HTML fields come escaped twice)."""
    if not legacy:
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slug(title: str) -> str:
    return re.sub(r"[^\w]+", "_", title.lower()).strip("_")[:50]


def _json(value: Any) -> Page:
    return Page(200, json.dumps(value, ensure_ascii=False).encode("utf-8"), _JSON)
