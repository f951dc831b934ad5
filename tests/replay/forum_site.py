"""Two differently built forums, served from tests/fixtures/forum, for the generic forum spider.

``FamiljelivSite`` follows what is known of Familjeliv's markup (docs: source-formats.md section 6):
``#forum-threadlist`` rows, ``.paginator`` with the current page ``.selected``, posts addressed by their
position (``#anchor-m<n>``), Swedish relative dates, ``.quote`` blocks headed "<nick> skrev <date>:",
soft hyphens and NBSP inside nicks, category names escaped twice. ``PhpbbSite`` is a prosilver-style
phpBB 3.3 board: ``viewforum.php``/``viewtopic.php`` with ``start=`` paging, a ``sid`` in every link,
site-wide post ids, ``<blockquote><cite>`` quotes, guests without profiles, dates as ``dd.mm.yyyy hh:mm``
in Europe/Helsinki.

Both share switchable fault modes: queued error answers (429 with Retry-After, 500), slow paths, walls
and broken pages by path, robots.txt rules; every request is recorded.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from html import escape
from pathlib import Path
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from demo.flashback_site import Page

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "forum"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
HELSINKI = ZoneInfo("Europe/Helsinki")
_MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]

BROKEN_PAGES: dict[str, Page] = {
    "login": Page(
        200,
        "<html><body><h1>Logga in</h1><p>Du måste vara inloggad för att läsa tråden.</p></body></html>".encode(),
        "text/html; charset=utf-8",
    ),
    "challenge": Page(
        200,
        b"<html><head><title>Just a moment...</title></head><body><div id='cf-challenge'></div></body></html>",
        "text/html; charset=utf-8",
    ),
    "blocked": Page(403, b"<html><body><h1>Access denied</h1></body></html>", "text/html; charset=utf-8"),
    "garbage": Page(200, b"\x1f\x8b\x08\x00\xff\xfe<<<\x00\x13garbage\xc3(", "text/html; charset=utf-8"),
    "binary": Page(200, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/octet-stream"),
    "redesigned": Page(
        200,
        b"<html><body><main class='nya-forumet'><article>Ny design, nya klasser</article></main></body></html>",
        "text/html; charset=utf-8",
    ),
}


@dataclass(frozen=True)
class FixturePost:
    thread: int
    position: int  # 1-based within the thread
    id: int  # site-wide id (phpBB) or the position (Familjeliv)
    author: str  # as displayed, soft hyphens and NBSP included
    user_id: int | None
    days_ago: int
    created_at: datetime  # UTC, resolved when the site starts
    text: str
    quote: FixturePost | None


@dataclass(frozen=True)
class FixtureThread:
    id: int
    title: str
    slug: str
    forum: str
    sticky: bool
    posts: list[FixturePost]


def load_threads(name: str, zone: ZoneInfo) -> list[FixtureThread]:
    """The fixture's threads with their times resolved against now (a time later today becomes now)."""
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    now = datetime.now(zone).replace(second=0, microsecond=0)
    threads = []
    for raw in data["threads"]:
        posts: list[FixturePost] = []
        for position, item in enumerate(raw["posts"], 1):
            day = now.date() - timedelta(days=item["days_ago"])
            hour, minute = map(int, item["time"].split(":"))
            local = datetime.combine(day, clock(hour, minute), tzinfo=zone)
            quote = item.get("quote")
            quoted = next((p for p in posts if p.id == quote), None) if quote is not None else None
            posts.append(
                FixturePost(
                    thread=raw["id"],
                    position=position,
                    id=item.get("id", position),
                    author=item["author"],
                    user_id=item.get("user_id"),
                    days_ago=item["days_ago"],
                    created_at=min(local, now).astimezone(UTC),
                    text=item["text"],
                    quote=quoted,
                )
            )
        threads.append(
            FixtureThread(
                raw["id"], raw["title"], raw.get("slug", ""), raw.get("forum", ""), raw.get("sticky", False), posts
            )
        )
    return threads


@dataclass
class Faults:
    """What goes wrong, by request target (path, or path?query without sid)."""

    errors: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    slow: set[str] = field(default_factory=set)
    slow_s: float = 3.0
    broken: dict[str, str] = field(default_factory=dict)  # target -> a key of BROKEN_PAGES
    disallow: list[str] = field(default_factory=list)  # robots.txt Disallow lines


class ForumSite:
    """What both forums share: visibility of newer posts, faults, robots.txt and the request log."""

    fixture: str
    zone: ZoneInfo

    def __init__(self, hide_days: int = 0, posts_per_page: int = 5, threads_per_page: int = 4) -> None:
        self.threads = load_threads(self.fixture, self.zone)
        self.hide_days = hide_days
        self.posts_per_page = posts_per_page
        self.threads_per_page = threads_per_page
        self.faults = Faults()
        self.requests: list[tuple[str, float]] = []

    def handle(self, path: str, query: str, host: str = "") -> Page:
        pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "sid"]
        target = f"{path}?{urlencode(pairs)}" if pairs else path
        self.requests.append((target, time.monotonic()))
        if path == "/robots.txt":
            rules = "".join(f"Disallow: {rule}\n" for rule in self.faults.disallow)
            return Page(200, f"User-agent: *\n{rules}".encode(), "text/plain; charset=utf-8")
        if target in self.faults.slow or path in self.faults.slow:
            time.sleep(self.faults.slow_s)
        for key in (target, path):
            if self.faults.errors.get(key):
                status, headers = self.faults.errors[key].pop(0)
                return Page(status, b"busy", "text/plain; charset=utf-8", tuple(headers.items()))
        mode = self.faults.broken.get(target) or self.faults.broken.get(path)
        if mode:
            return BROKEN_PAGES[mode]
        return self.render(path, dict(pairs))

    def render(self, path: str, query: dict[str, str]) -> Page:
        raise NotImplementedError

    def requested(self, target: str) -> int:
        return sum(1 for seen, _ in self.requests if seen == target)

    def visible(self, thread: FixtureThread) -> list[FixturePost]:
        return [post for post in thread.posts if post.days_ago >= self.hide_days]

    def listed(self) -> tuple[list[FixtureThread], list[FixtureThread]]:
        """Stickies, then the other threads with visible posts, newest activity first."""
        shown = [t for t in self.threads if self.visible(t)]
        others = sorted((t for t in shown if not t.sticky), key=lambda t: self.visible(t)[-1].created_at, reverse=True)
        return [t for t in shown if t.sticky], others

    def posts(self) -> list[tuple[FixtureThread, FixturePost]]:
        return [(thread, post) for thread in self.threads for post in self.visible(thread)]

    def pages_of(self, thread: FixtureThread) -> int:
        return max(1, math.ceil(len(self.visible(thread)) / self.posts_per_page))


def _lines(text: str) -> str:
    return "<br>\n".join(escape(line) for line in text.split("\n"))


def _html(title: str, body: str, status: int = 200) -> Page:
    document = (
        '<!DOCTYPE html>\n<html lang="sv"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body>{body}</body></html>"
    )
    return Page(status, document.encode("utf-8"), "text/html; charset=utf-8")


# -- Familjeliv ------------------------------------------------------------------------------------

_FL_LISTING = re.compile(r"^/forum/new/(?P<page>\d+)/?$")
_FL_THREAD = re.compile(r"^/forum/thread/(?P<id>\d+)-(?P<slug>[\w-]+)(?:/(?P<page>\d+))?/?$")


def familjeliv_date(moment: datetime, now: datetime | None = None) -> str:
    """Familjeliv's way: Idag/Igår/I förrgår HH:MM, 'D mon HH:MM' this year, 'D mon YYYY HH:MM' before."""
    local = moment.astimezone(STOCKHOLM)
    today = (now or datetime.now(STOCKHOLM)).astimezone(STOCKHOLM).date()
    relative = {0: "Idag", 1: "Igår", 2: "I förrgår"}.get((today - local.date()).days)
    if relative:
        return f"{relative} {local:%H:%M}"
    year = "" if local.year == today.year else f" {local.year}"
    return f"{local.day} {_MONTHS[local.month - 1]}{year} {local:%H:%M}"


class FamiljelivSite(ForumSite):
    fixture = "familjeliv"
    zone = STOCKHOLM

    def render(self, path: str, query: dict[str, str]) -> Page:
        if match := _FL_LISTING.match(path):
            return self._listing(int(match["page"]))
        if match := _FL_THREAD.match(path):
            thread = next((t for t in self.threads if t.id == int(match["id"])), None)
            if thread is not None and self.visible(thread):
                page = int(match["page"] or 1)
                if 1 <= page <= self.pages_of(thread):
                    return self._thread(thread, page)
        return _html("Sidan finns inte - Familjeliv", "<h1>Sidan finns inte</h1>", 404)

    def thread_url(self, thread: FixtureThread, page: int = 1) -> str:
        return f"/forum/thread/{thread.id}-{thread.slug}/{page}"

    def _listing(self, page: int) -> Page:
        _, threads = self.listed()
        pages = max(1, math.ceil(len(threads) / self.threads_per_page))
        if not 1 <= page <= pages:
            return _html("Sidan finns inte - Familjeliv", "<h1>Sidan finns inte</h1>", 404)
        rows = []
        for thread in threads[(page - 1) * self.threads_per_page : page * self.threads_per_page]:
            posts = self.visible(thread)
            rows.append(
                f'<tr><td class="thread"><a href="{self.thread_url(thread)}">{escape(thread.title)}</a></td>'
                f'<td class="forum">{escape(escape(thread.forum))}</td>'  # escaped twice, as Familjeliv does
                f'<td class="starter"><span class="nick">{escape(posts[0].author)}</span></td>'
                f'<td class="threadStarted">{familjeliv_date(posts[0].created_at)}</td>'
                f'<td class="replies">{len(posts) - 1}</td></tr>'
            )
        body = (
            '<div id="forum-new"><h1>Nya inlägg</h1><table id="forum-threadlist"><thead><tr><th>Ämne</th>'
            "<th>Forum</th><th>Startad av</th><th>Startad</th><th>Svar</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{self._paginator('/forum/new/', page, pages)}</div>"
        )
        return _html("Nya inlägg - Familjeliv", body)

    def _thread(self, thread: FixtureThread, page: int) -> Page:
        posts = self.visible(thread)
        shown = posts[(page - 1) * self.posts_per_page : page * self.posts_per_page]
        blocks = []
        for post in shown:
            blocks.append(self._post(post))
            if post.position % 4 == 0:  # ads sit between posts and look like posts to a loose selector
                blocks.append('<div class="post sponsored"><div class="message-body">Annons</div></div>')
        prefix = f"/forum/thread/{thread.id}-{thread.slug}/"
        body = (
            f'<div id="thread-page"><h1 class="thread-title">{escape(thread.title)}</h1>'
            f'<div class="thread-posts">{"".join(blocks)}</div>{self._paginator(prefix, page, self.pages_of(thread))}'
            "</div>"
        )
        return _html(f"{thread.title} - Familjeliv", body)

    def _post(self, post: FixturePost) -> str:
        nick = f'<div class="compose_avatar_image"><span class="compose_avatar_nick">{escape(post.author)}</span></div>'
        if post.position == 1:
            date = f'<div class="forum-top-date">{familjeliv_date(post.created_at)}</div>'
        else:
            date = (
                f'<div class="entry-info"><span class="date">{familjeliv_date(post.created_at)} ×</span>'
                f'<span class="reply-number">#{post.position - 1}</span></div>'
            )
        quote = ""
        if post.quote is not None:
            said = post.quote.created_at.astimezone(STOCKHOLM)
            quote = (
                f'<div class="quote"><div class="quote-nick">{escape(post.quote.author)} skrev '
                f"{said:%Y-%m-%d %H:%M}:</div>{_lines(post.quote.text)}</div>"
            )
        return (
            f'<div class="post" id="anchor-m{post.position}">{nick}{date}'
            f'<div class="message-body">{quote}{_lines(post.text)}</div></div>'
        )

    def _paginator(self, prefix: str, page: int, pages: int) -> str:
        selected = ' class="selected"'
        items = "".join(
            f'<li{selected if n == page else ""}><a href="{prefix}{n}">{n}</a></li>' for n in range(1, pages + 1)
        )
        return f'<div class="paginator" id="formupdate"><ul>{items}</ul></div>'


# -- phpBB -----------------------------------------------------------------------------------------


class PhpbbSite(ForumSite):
    fixture = "phpbb"
    zone = HELSINKI
    forum_id = 3

    def __init__(self, hide_days: int = 0, posts_per_page: int = 4, threads_per_page: int = 3) -> None:
        super().__init__(hide_days, posts_per_page, threads_per_page)

    def render(self, path: str, query: dict[str, str]) -> Page:
        start = int(query.get("start", "0") or 0)
        if path == "/viewforum.php" and query.get("f") == str(self.forum_id):
            return self._listing(start)
        if path == "/viewtopic.php":
            thread = next((t for t in self.threads if str(t.id) == query.get("t")), None)
            if "p" in query:  # a permalink shows the page holding the post
                for candidate in self.threads:
                    ids = [p.id for p in self.visible(candidate)]
                    if query["p"].isdigit() and int(query["p"]) in ids:
                        thread = candidate
                        index = ids.index(int(query["p"]))
                        start = index - index % self.posts_per_page
            if thread is not None and self.visible(thread):
                return self._topic(thread, start)
            return _html("Information", "<h2>Information</h2><p>Den efterfrågade tråden existerar inte.</p>", 404)
        return _html("Information", "<h2>Information</h2><p>Sidan existerar inte.</p>", 404)

    @staticmethod
    def _sid() -> str:
        return f"&amp;sid={secrets.token_hex(16)}"  # guests without cookies get a session id in every link

    def _time(self, moment: datetime) -> str:
        return f'<time datetime="{moment.isoformat()}">{moment.astimezone(HELSINKI):%d.%m.%Y %H:%M}</time>'

    def _pagination(self, base: str, start: int, total: int, per_page: int) -> str:
        pages = max(1, math.ceil(total / per_page))
        current = start // per_page + 1
        items = []
        for n in range(1, pages + 1):
            if n == current:
                items.append(f'<li class="active"><span>{n}</span></li>')
            else:
                items.append(
                    f'<li><a class="button" href="{base}&amp;start={(n - 1) * per_page}{self._sid()}">{n}</a></li>'
                )
        if current < pages:
            items.append(
                f'<li class="arrow next"><a class="button button-icon-only" href="{base}&amp;start={current * per_page}'
                f'{self._sid()}" rel="next" role="button"><i class="icon fa-chevron-right fa-fw"></i>'
                '<span class="sr-only">Nästa</span></a></li>'
            )
        return f'<div class="action-bar"><div class="pagination">{total} st • <ul>{"".join(items)}</ul></div></div>'

    def _listing(self, start: int) -> Page:
        stickies, threads = self.listed()
        start = min(
            max(start, 0), max(0, (math.ceil(len(threads) / self.threads_per_page) - 1) * self.threads_per_page)
        )
        shown = (stickies if start == 0 else []) + threads[start : start + self.threads_per_page]
        rows = []
        for thread in shown:
            posts = self.visible(thread)
            first, last = posts[0], posts[-1]
            css = "row bg1 sticky" if thread.sticky else "row bg2"
            rows.append(
                f'<li class="{css}"><dl class="row-item topic_read"><dt><div class="list-inner">'
                f'<a href="./viewtopic.php?f={self.forum_id}&amp;t={thread.id}{self._sid()}" class="topictitle">'
                f"{escape(thread.title)}</a><br>"
                f'<div class="topic-poster responsive-hide">av <span class="username">{escape(first.author)}</span>'
                f" » {self._time(first.created_at)}</div></div></dt>"
                f'<dd class="posts">{len(posts) - 1} <dfn>Svar</dfn></dd>'
                f'<dd class="views">{len(posts) * 31} <dfn>Visningar</dfn></dd>'
                f'<dd class="lastpost"><span><dfn>Senaste inlägget </dfn>av <span class="username">'
                f'{escape(last.author)}</span> <a href="./viewtopic.php?p={last.id}{self._sid()}#p{last.id}" '
                f'title="Gå till senaste inlägget">↪</a><br>{self._time(last.created_at)}</span></dd></dl></li>'
            )
        pagination = self._pagination(f"./viewforum.php?f={self.forum_id}", start, len(threads), self.threads_per_page)
        body = (
            f'<div id="page-body"><h2 class="forum-title">Familj och barn</h2>{pagination}'
            '<div class="forumbg"><div class="inner"><ul class="topiclist"><li class="header"><dl class="row-item">'
            "<dt>Ämnen</dt><dd class='posts'>Svar</dd><dd class='lastpost'>Senaste inlägget</dd></dl></li></ul>"
            f'<ul class="topiclist topics">{"".join(rows)}</ul></div></div>{pagination}</div>'
        )
        return _html("Familj och barn - Forum Österbotten", body)

    def _topic(self, thread: FixtureThread, start: int) -> Page:
        posts = self.visible(thread)
        last_start = (self.pages_of(thread) - 1) * self.posts_per_page
        start = min(max(start - start % self.posts_per_page, 0), last_start)  # phpBB clamps to the last page
        blocks = [self._post(thread, post) for post in posts[start : start + self.posts_per_page]]
        base = f"./viewtopic.php?f={self.forum_id}&amp;t={thread.id}"
        pagination = self._pagination(base, start, len(posts), self.posts_per_page)
        body = (
            f'<div id="page-body"><h2 class="topic-title"><a href="{base}{self._sid()}">{escape(thread.title)}</a></h2>'
            f"{pagination}{'<hr class=divider>'.join(blocks)}{pagination}</div>"
        )
        return _html(f"{thread.title} - Forum Österbotten", body)

    def _user(self, post: FixturePost) -> str:
        if post.user_id is None:
            return f'<span class="username">{escape(post.author)}</span>'
        return (
            f'<a href="./memberlist.php?mode=viewprofile&amp;u={post.user_id}{self._sid()}" class="username">'
            f"{escape(post.author)}</a>"
        )

    def _post(self, thread: FixtureThread, post: FixturePost) -> str:
        quote = ""
        if post.quote is not None:
            source = post.quote
            quote = (
                f'<blockquote cite="./viewtopic.php?p={source.id}#p{source.id}"><div><cite>{self._user(source)} skrev: '
                f'<a href="./viewtopic.php?p={source.id}#p{source.id}" data-post-id="{source.id}">↑</a>'
                f'<span class="responsive-hide">{self._time(source.created_at)}</span></cite>{_lines(source.text)}'
                "</div></blockquote>"
            )
        link = f"./viewtopic.php?p={post.id}{self._sid()}#p{post.id}"
        return (
            f'<div id="p{post.id}" class="post has-profile bg2"><div class="inner">'
            f'<dl class="postprofile" id="profile{post.id}"><dt class="no-avatar">{self._user(post)}</dt>'
            f'<dd class="profile-posts"><strong>Inlägg:</strong> {post.id % 97}</dd></dl>'
            f'<div class="postbody"><div id="post_content{post.id}"><h3><a href="#p{post.id}">Sv: '
            f'{escape(thread.title)}</a></h3><p class="author"><a class="unread" href="{link}" title="Inlägg">'
            '<i class="icon fa-file fa-fw"></i><span class="sr-only">Inlägg</span></a> '
            f'<span class="responsive-hide">av <strong>{self._user(post)}</strong> » </span>'
            f'{self._time(post.created_at)}</p><div class="content">{quote}{_lines(post.text)}</div>'
            "</div></div></div></div>"
        )
