"""The demo corpus as Flashback Forum pages, in the markup real Flashback serves to guests.

Guests get 12 posts a page; listings show the newest activity first; one forum is served in
Windows-1252, as older Flashback pages were.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from demo.corpus import Corpus, Forum, ForumPost, Thread

STOCKHOLM = ZoneInfo("Europe/Stockholm")
POSTS_PER_PAGE = 12
THREADS_PER_PAGE = 50
SEARCH_HITS_PER_PAGE = 25
WINDOWS_1252_FORUMS = {112}

ROBOTS = "User-agent: *\nCrawl-delay: 5\nDisallow: /sok/\nDisallow: /login.php\n"

_FORUM = re.compile(r"^/f(?P<forum>\d+)(?:p(?P<page>\d+))?/?$")
_THREAD = re.compile(r"^/t(?P<thread>\d+)(?:p(?P<page>\d+))?/?$")
_POST = re.compile(r"^/p(?P<post>\d+)/?$")


@dataclass(frozen=True)
class Page:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


class FlashbackSite:
    def __init__(self, corpus: Corpus, threads_per_page: int = THREADS_PER_PAGE, robots: str = ROBOTS) -> None:
        self.corpus = corpus
        self.threads_per_page = threads_per_page
        self.robots = robots

    def handle(self, path: str, query: str, host: str = "") -> Page:
        if path == "/robots.txt":
            return Page(200, self.robots.encode(), "text/plain; charset=utf-8")
        if path.rstrip("/") == "/sok":
            return self._search(parse_qs(query))
        if match := _FORUM.match(path):
            forum = self._forum(int(match["forum"]))
            if forum is not None:
                return self._listing(forum, int(match["page"] or 1))
        elif match := _THREAD.match(path):
            found = self._thread(int(match["thread"]))
            if found is not None and not found[1].moved:
                return self._thread_page(found[0], found[1], int(match["page"] or 1))
        elif match := _POST.match(path):
            return self._permalink(int(match["post"]))
        return _html(404, "Sidan kunde inte hittas", "<p>Sidan du söker finns inte.</p>", "utf-8")

    # -- lookups -----------------------------------------------------------------------------------

    def _forum(self, forum_id: int) -> Forum | None:
        return next((forum for forum in self.corpus.forums if forum.id == forum_id), None)

    def _thread(self, thread_id: int) -> tuple[Forum, Thread] | None:
        for forum in self.corpus.forums:
            for thread in forum.threads:
                if thread.id == thread_id:
                    return forum, thread
        return None

    def _posts(self, thread: Thread) -> list[ForumPost]:
        return [post for post in thread.posts if self.corpus.visible(post.days_ago)]

    # -- pages -------------------------------------------------------------------------------------

    def _listing(self, forum: Forum, page: int) -> Page:
        threads = [t for t in forum.threads if t.moved or self._posts(t)]
        stickies = [t for t in threads if t.sticky]
        others = sorted(
            (t for t in threads if not t.sticky),
            key=lambda t: self._posts(t)[-1].created_at if self._posts(t) else datetime.min.replace(tzinfo=UTC),
            reverse=True,
        )
        pages = max(1, math.ceil(len(others) / self.threads_per_page))
        page = min(max(page, 1), pages)
        shown = others[(page - 1) * self.threads_per_page : page * self.threads_per_page]
        rows = [self._row(t, sticky=True) for t in stickies] if page == 1 else []
        rows += [self._row(t, sticky=False) for t in shown]
        nav = _pagination(f"/f{forum.id}", page, pages)
        body = (
            f'<div class="list-forum-title"><ol class="breadcrumb"><li><a href="/">Flashback Forum</a></li></ol>'
            f"<h1>{escape(forum.title)}</h1></div>"
            f'<div class="row row-forum-toolbar">Sidan {page} av {pages}</div>'
            f'<table id="threadslist" class="table table-threads"><thead><tr><th>Ämne</th><th>Svar</th>'
            f"<th>Senaste inlägg</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{nav}"
        )
        return _html(200, forum.title, body, self._charset(forum))

    def _row(self, thread: Thread, sticky: bool) -> str:
        tid = thread.id
        if thread.moved:
            return (
                f'<tr><td class="td_status"></td><td class="td_title" id="td_title_{tid}">Flyttad: '
                f'<strong><a id="thread_title_{tid}" href="/t{tid}">{escape(thread.title)}</a></strong></td>'
                '<td class="td_replies">-</td><td class="td_last_post"></td></tr>'
            )
        posts = self._posts(thread)
        first, last = posts[0], posts[-1]
        replies = _thousands(len(posts) - 1)
        views = _thousands(len(posts) * 97 + tid % 1000)
        css = ' class="tr_sticky"' if sticky else ""
        return (
            f'<tr{css}><td class="td_status"><a href="/t{tid}n"><i class="fa fa-file"></i></a></td>'
            f'<td class="td_title" id="td_title_{tid}"><strong><a id="thread_title_{tid}" href="/t{tid}">'
            f'{escape(thread.title)}</a></strong><span class="thread-poster">{escape(first.author)}</span>'
            f'<div class="thread-lastposter">Svar av <a href="/t{tid}s">{escape(last.author)}</a></div></td>'
            f'<td class="td_replies">{replies} svar<br>{views} visningar</td>'
            f'<td class="td_last_post"><div>{_listing_date(last.created_at)}</div>'
            f'<div>av <a href="/t{tid}s">{escape(last.author)}</a></div></td></tr>'
        )

    def _thread_page(self, forum: Forum, thread: Thread, page: int) -> Page:
        posts = self._posts(thread)
        pages = max(1, math.ceil(len(posts) / POSTS_PER_PAGE))
        page = min(max(page, 1), pages)  # like Flashback: past the end shows the last page
        start = (page - 1) * POSTS_PER_PAGE
        blocks = []
        for ordinal, post in enumerate(posts[start : start + POSTS_PER_PAGE], start + 1):
            blocks.append(_post_html(post, ordinal))
            if ordinal % 5 == 0:
                blocks.append(
                    '<div class="banner_text"><img src="https://static.flashback.org/img/banners/b.gif" alt=""></div>'
                )
        head = f'<link rel="next" href="/t{thread.id}p{page + 1}">' if page < pages else ""
        body = (
            f'<div class="page-title"><h1><a href="/t{thread.id}">{escape(thread.title)}</a></h1></div>'
            f'<div id="posts">{"".join(blocks)}</div>{_pagination(f"/t{thread.id}", page, pages)}'
        )
        return _html(200, thread.title, body, self._charset(forum), head)

    def _search(self, params: dict[str, list[str]]) -> Page:
        """Keyword search, newest posts first, as /sok/?query=...&so=pd&page=N answers."""
        words = [_fold(word) for word in " ".join(params.get("query", [""])).split()]
        page = max(1, int(params.get("page", ["1"])[0] or 1))
        hits = sorted(
            (
                (forum, thread, post)
                for forum, thread, post in self.corpus.forum_posts()
                if words and all(word in _fold(post.text) for word in words)
            ),
            key=lambda hit: hit[2].id,
            reverse=True,
        )
        pages = max(1, math.ceil(len(hits) / SEARCH_HITS_PER_PAGE))
        shown = hits[(page - 1) * SEARCH_HITS_PER_PAGE : page * SEARCH_HITS_PER_PAGE] if page <= pages else []
        blocks = [
            f'<div class="post post-small" id="post{post.id}"><div class="post-heading">'
            f'{_heading_date(post.created_at)} i <a href="/f{forum.id}">{escape(forum.title)}</a></div>'
            f'<div class="post-body"><a href="/p{post.id}#p{post.id}"><strong>{escape(thread.title)}</strong></a>'
            f"<!-- /t{thread.id} --><small>Postat av "
            + (f'<a href="/u{post.user_id}">{escape(post.author)}</a>' if post.user_id else escape(post.author))
            + f'</small><div class="post_message">{escape(post.text[:200])}</div></div></div>'
            for forum, thread, post in shown
        ]
        query = escape(" ".join(params.get("query", [""])))
        nav = ""
        if page < pages:
            following = f"/sok/?query={query}&amp;so=pd&amp;page={page + 1}"
            nav = f'<div class="pagination"><a rel="next" href="{following}">Nästa</a></div>'
        body = f'<h1>Sökresultat för {query}</h1><div id="posts">{"".join(blocks)}</div>{nav}'
        return _html(200, "Sök", body, "utf-8")

    def _permalink(self, post_id: int) -> Page:
        for forum in self.corpus.forums:
            for thread in forum.threads:
                posts = self._posts(thread)
                for index, post in enumerate(posts):
                    if post.id == post_id:
                        page = index // POSTS_PER_PAGE + 1
                        target = f"/t{thread.id}p{page}#p{post_id}" if page > 1 else f"/t{thread.id}#p{post_id}"
                        return Page(302, b"", "text/html; charset=utf-8", (("Location", target),))
        return _html(404, "Sidan kunde inte hittas", "<p>Inlägget finns inte.</p>", "utf-8")

    def _charset(self, forum: Forum) -> str:
        return "windows-1252" if forum.id in WINDOWS_1252_FORUMS else "utf-8"


def _post_html(post: ForumPost, ordinal: int) -> str:
    if post.user_id is None:
        user = f'<span class="post-user-username">{escape(post.author)}</span>'
    else:
        user = (
            f'<div class="dropdown"><a class="post-user-username dropdown-toggle" href="/u{post.user_id}">'
            f"{escape(post.author)}</a></div>"
        )
    quote = ""
    if post.quote is not None:
        origin = ""
        if post.quote.author:
            link = (
                f' <a href="/p{post.quote.post_id}#p{post.quote.post_id}"><i class="fa fa-arrow-up"></i></a>'
                if post.quote.post_id
                else ""
            )
            origin = f"<div>Ursprungligen postat av <strong>{escape(post.quote.author)}</strong>{link}</div>"
        quote = (
            '<div class="post-bbcode-quote-wrapper"><div class="post-bbcode-quote-label">Citat:</div>'
            f'<div class="alt2 post-bbcode-quote">{origin}<div class="post-clamped-text">{_paragraphs(post.quote.text)}'
            "</div></div></div>"
        )
    return (
        f'<div class="post" id="post{post.id}"><div class="post-heading">{_heading_date(post.created_at)}'
        f'<span class="pull-right"><a href="/p{post.id}">#<strong>{ordinal}</strong></a></span></div>'
        '<div class="post-body"><div class="post-row"><div class="post-col post-left"><div class="post-user">'
        f'{user}<div class="post-user-title">Medlem</div><div class="post-user-info">Reg: 2014-03<br>'
        f'Inlägg: {_thousands(post.id % 5000)}</div></div></div><div class="post-col post-right">'
        f'<div class="post_message" id="post_message_{post.id}">{quote}{_paragraphs(post.text)}</div></div>'
        f'</div><!--/.post-row--></div><a id="postcount{ordinal}" name="{ordinal}"></a></div>'
    )


def _fold(text: str) -> str:
    return text.lower().translate(str.maketrans("åäöé", "aaoe"))


def _paragraphs(text: str) -> str:
    return "<br>\n".join(escape(line) for line in text.split("\n"))


def _local_day_label(moment: datetime) -> str:
    local = moment.astimezone(STOCKHOLM)
    today = datetime.now(STOCKHOLM).date()
    delta = (today - local.date()).days
    return {0: "Idag", 1: "Igår"}.get(delta, local.strftime("%Y-%m-%d"))


def _heading_date(moment: datetime) -> str:
    return f"{_local_day_label(moment)}, {moment.astimezone(STOCKHOLM):%H:%M}"


def _listing_date(moment: datetime) -> str:
    return f'{_local_day_label(moment)} <span class="time">{moment.astimezone(STOCKHOLM):%H:%M}</span>'


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", "\xa0")


def _pagination(prefix: str, page: int, pages: int) -> str:
    if pages <= 1:
        return ""
    links = [
        f'<a href="{prefix}p{n}">{n}</a>' if n != page else f'<span class="current">{n}</span>'
        for n in range(1, pages + 1)
    ]
    if page < pages:
        links.append(f'<a rel="next" href="{prefix}p{page + 1}">Nästa &gt;</a>')
    return f'<div class="pagination">{" ".join(links)}</div>'


def _html(status: int, title: str, body: str, charset: str, head: str = "") -> Page:
    document = (
        f'<!DOCTYPE html>\n<html lang="sv"><head><meta charset="{charset}">'
        f"<title>{escape(title)} - Flashback Forum</title>{head}</head><body>{body}</body></html>"
    )
    encoded = document.encode(charset, errors="xmlcharrefreplace")
    return Page(status, encoded, f"text/html; charset={charset}")
