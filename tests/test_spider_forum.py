"""The generic forum spider, set up by settings alone, crawls a Familjeliv-like forum and a phpBB board.

Each forum is described only in a ``vaktpost.toml`` written by the test and read by load_settings: no
forum-specific code exists. Crawls run over real HTTP against tests/replay/forum_site.py, each in its own
subprocess, as in production.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

import crawlers
from crawlers.evidence import verify
from crawlers.spiders.forum import ForumSpider
from demo.replay import ReplayServer
from tests.replay.forum_site import FamiljelivSite, FixturePost, FixtureThread, PhpbbSite
from vaktpost.schema import Post
from vaktpost.settings import Settings, SettingsError, load_settings
from vaktpost.sources import ForumSource

SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"

# A municipality's settings for Familjeliv: nothing but selectors and patterns (docs: source-formats.md 6).
FAMILJELIV_TOML = r"""
[[sources]]
kind = "forum"
name = "familjeliv"
base_url = "BASE_URL"
start_urls = ["/forum/new/1"]
delay_s = 0
since_days = SINCE_DAYS
thread_id_pattern = '/thread/(\d+)'
post_id_pattern = 'anchor-m(\d+)'
post_id_scope = "thread"              # anchors number the posts within a thread
anonymous_authors = ["Anonym", "TS"]
quote_header_pattern = '^[^\n]*\bskrev\b[^\n]*:\s*'

[sources.selectors]
listing_row = "#forum-threadlist tr"
thread_link = "td.thread > a::attr(href)"
listing_replies = "td.replies"
listing_next = "#formupdate li.selected + li > a::attr(href)"
title = "h1.thread-title::text"
post = "div.post"
post_id = "::attr(id)"
author = ".compose_avatar_nick"
date = ".entry-info .date::text, .forum-top-date::text"
text = ".message-body"
quote = ".quote"
next_page = "#formupdate li.selected + li > a::attr(href)"
"""

# A phpBB 3.3 board in Finland: other markup, site-wide ids, profile ids, strptime dates in Helsinki time.
PHPBB_TOML = r"""
[[sources]]
kind = "forum"
name = "osterbotten"
base_url = "BASE_URL"
start_urls = ["/viewforum.php?f=3"]
delay_s = 0
since_days = SINCE_DAYS
thread_id_pattern = '[?&]t=(\d+)'
post_id_pattern = '^p(\d+)$'
author_id_pattern = '[?&]u=(\d+)'
date_format = "%d.%m.%Y %H:%M"
timezone = "Europe/Helsinki"

[sources.selectors]
listing_row = "ul.topiclist.topics > li.row"
thread_link = "a.topictitle"
listing_replies = "dd.posts"
listing_date = "dd.lastpost time::text"
listing_next = ".action-bar .pagination li.next > a::attr(href)"
title = "h2.topic-title"
post = "div.post"
post_id = "::attr(id)"
permalink = "p.author a.unread::attr(href)"
author = "dl.postprofile .username"
author_id = "dl.postprofile a.username::attr(href)"
date = "p.author time::text"
text = "div.content"
quote = "blockquote"
quote_header = "cite"
quote_post_id = "cite a::attr(data-post-id)"
next_page = ".action-bar .pagination li.next > a::attr(href)"
"""


def configure(toml: str, base_url: str, config_dir: Path, since_days: int = 30) -> tuple[Settings, ForumSource]:
    """Write the forum's vaktpost.toml and load it the way every Vaktpost command does."""
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "vaktpost.toml"
    path.write_text(toml.replace("BASE_URL", base_url).replace("SINCE_DAYS", str(since_days)), encoding="utf-8")
    settings = load_settings(path)
    source = settings.sources[0]
    assert isinstance(source, ForumSource)
    return settings, source


def run_crawl(source: ForumSource, settings: Settings, work: Path) -> tuple[crawlers.CrawlResult, list[Post]]:
    result = crawlers.crawl(source, settings, work)
    assert result.ok, (result.error, result.log_file.read_text(encoding="utf-8")[-3000:])
    return result, list(crawlers.read_posts(result.posts_file))


def nick(author: str) -> str:
    return " ".join(author.replace("\xad", "").replace("\xa0", " ").split())


def recent(site: FamiljelivSite | PhpbbSite, days: int = 30) -> list[tuple[FixtureThread, FixturePost]]:
    horizon = datetime.now(UTC) - timedelta(days=days)
    return [(thread, post) for thread, post in site.posts() if post.created_at >= horizon]


def fl_id(thread: FixtureThread, post: FixturePost) -> str:
    return f"familjeliv:{thread.id}-{post.position}"


def thread_pages(site: FamiljelivSite | PhpbbSite, since: int = 0) -> list[str]:
    return [t for t, _ in site.requests[since:] if "/thread/" in t or t.startswith("/viewtopic.php")]


# -- settings --------------------------------------------------------------------------------------


def test_broken_selectors_and_patterns_fail_when_settings_load(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as broken:
        configure(FAMILJELIV_TOML.replace('post = "div.post"', 'post = "div.post["'), "https://fl.example", tmp_path)
    assert "sources[0].selectors.post = 'div.post['" in str(broken.value)
    assert "not a valid CSS selector" in str(broken.value)
    bad = FAMILJELIV_TOML.replace('text = ".message-body"', 'text = ".message-body::text"')
    bad = bad.replace("thread_id_pattern = '/thread/(\\d+)'", "thread_id_pattern = '/thread/\\d+'")
    bad = bad.replace('name = "familjeliv"', 'name = "familjeliv"\ntimezone = "Europe/Stokholm"')
    with pytest.raises(SettingsError) as many:
        configure(bad, "https://fl.example", tmp_path)
    message = str(many.value)
    assert "sources[0].selectors.text" in message and "must select elements" in message
    assert "sources[0].thread_id_pattern" in message and "needs a (group)" in message
    assert "sources[0].timezone" in message
    with pytest.raises(SettingsError, match=r"sources\[0\].selectors.listing_rows: unknown setting"):
        configure(FAMILJELIV_TOML.replace("listing_row =", "listing_rows ="), "https://fl.example", tmp_path)
    with pytest.raises(SettingsError, match=r"listing_date need selectors\.listing_row"):
        configure(
            PHPBB_TOML.replace('listing_row = "ul.topiclist.topics > li.row"\n', ""), "https://pb.example", tmp_path
        )


def _offline(source: ForumSource, url: str, body: bytes, **kwargs: Any) -> tuple[ForumSpider, list[Any]]:
    """Parse one stored thread page with the spider, without a network or a subprocess."""
    crawler = get_crawler(ForumSpider, {"VAKTPOST_SINCE_DAYS": 100000})
    spider = ForumSpider.from_crawler(crawler, source=source, state={})
    assert isinstance(spider, ForumSpider)
    response = HtmlResponse(url, body=body, encoding="utf-8", request=Request(url))
    arguments = {"thread": "1", "replies": None, "first_url": url, "resumed": False} | kwargs
    return spider, list(spider.parse_thread(response, **arguments))


def test_thread_page_parsed_offline_matches_the_fixture(tmp_path: Path) -> None:
    site = FamiljelivSite()
    _, source = configure(FAMILJELIV_TOML, "https://www.familjeliv.se", tmp_path)
    thread = site.threads[0]
    url = f"https://www.familjeliv.se{site.thread_url(thread, 2)}"
    _, items = _offline(source, url, site.handle(site.thread_url(thread, 2), "").body, thread=str(thread.id))
    posts = [item for item in items if isinstance(item, dict)]
    assert [p["id"] for p in posts] == [fl_id(thread, post) for post in thread.posts[5:10]]  # the ad is skipped
    assert posts[1]["quoted_text"] == thread.posts[5].text  # the doxx quoted by a critic stays out of her text
    assert "070-174 06 12" not in posts[1]["text"]
    assert [item.url for item in items if not isinstance(item, dict)] == [url.replace("/2", "/3")]
    # Swedish words, another zone (a Finland-Swedish forum): the same wall-clock times, an hour earlier in UTC
    helsinki = source.model_copy(update={"timezone": "Europe/Helsinki"})
    _, shifted = _offline(helsinki, url, site.handle(site.thread_url(thread, 2), "").body, thread=str(thread.id))
    assert [datetime.fromisoformat(item["created_at"]) for item in shifted if isinstance(item, dict)] == [
        post.created_at - timedelta(hours=1) for post in thread.posts[5:10]
    ]


def test_a_post_that_cannot_be_read_is_counted_and_read_again_next_run(tmp_path: Path) -> None:
    site = FamiljelivSite()
    _, source = configure(FAMILJELIV_TOML, "https://www.familjeliv.se", tmp_path)
    thread = site.threads[0]
    path = site.thread_url(thread, 2)
    body = site.handle(path, "").body.decode("utf-8")
    body = re.sub(r'(id="anchor-m7">.*?<span class="date">)[^<]*', r"\1igår någon gång", body, count=1)
    spider, items = _offline(source, f"https://www.familjeliv.se{path}", body.encode(), thread=str(thread.id))
    assert [item["id"] for item in items if isinstance(item, dict)] == [
        fl_id(thread, post) for post in thread.posts[5:10] if post.position != 7
    ]
    assert spider.crawler.stats.get_value("vaktpost/failed/unparsable_date") == 1
    assert spider.next_state["threads"][str(thread.id)] == {"max_post": 6, "last_url": path}


def test_parser_against_shared_recordings(tmp_path: Path) -> None:
    """Real Familjeliv pages, when someone has recorded them under shared/fixtures (none exist yet)."""
    pages = sorted(
        path
        for name in ("familjeliv", "forum")
        if (SHARED_FIXTURES / name).is_dir()
        for path in (SHARED_FIXTURES / name).rglob("*thread*.htm*")
    )
    if not pages:
        pytest.skip("no recorded Familjeliv thread pages under shared/fixtures/familjeliv")
    _, source = configure(FAMILJELIV_TOML, "https://www.familjeliv.se", tmp_path)
    for path in pages:
        _, items = _offline(source, "https://www.familjeliv.se/forum/thread/1-recorded/1", path.read_bytes())
        posts = [item for item in items if isinstance(item, dict)]
        assert posts, f"no posts parsed from {path}"
        assert all(p["text"] or p["quoted_text"] for p in posts), path


# -- Familjeliv-like forum ------------------------------------------------------------------------


def test_familjeliv_every_post_then_nothing_twice(settings: Settings, tmp_path: Path) -> None:
    site = FamiljelivSite()
    with ReplayServer({"fl": site}, default="fl") as server:
        settings, source = configure(FAMILJELIV_TOML, server.url, tmp_path / "config")
        first, posts = run_crawl(source, settings, tmp_path / "1")
        # the crawl "died" before its posts were stored: nothing was committed, so nothing may be lost
        again, posts_again = run_crawl(source, settings, tmp_path / "2")
        assert crawlers.commit_state(again, settings)
        before_third = len(site.requests)
        third, nothing = run_crawl(source, settings, tmp_path / "3")
    expected = {fl_id(thread, post): (thread, post) for thread, post in recent(site)}
    assert first.failures == {} and third.failures == {}
    assert sorted(p.id for p in posts) == sorted(expected)  # older than the horizon: not kept
    assert {p.id for p in posts_again} == {p.id for p in posts}
    assert nothing == []
    assert thread_pages(site, before_third) == []  # unchanged reply counts: no thread was fetched again
    assert site.requested("/forum/new/2") == 3  # listings are re-read every run, with their next pages
    assert len(expected) == 28 and len(thread_pages(site)) == 2 * 9  # every page of every thread, twice
    pseudonyms: dict[str, set[str | None]] = {}
    for post in posts:
        thread, original = expected[post.id]
        assert post.source == "familjeliv" and post.thread_id == f"familjeliv:t{thread.id}"
        assert post.title == thread.title
        assert post.text == original.text
        assert post.quoted_text == (original.quote.text if original.quote else None)
        assert post.created_at == original.created_at  # Idag / Igår / I förrgår / "3 maj 12:34"
        assert post.author_name == nick(original.author)  # soft hyphens and NBSP normalised
        assert (post.author_id is None) == (original.author in ("Anonym", "TS"))
        pseudonyms.setdefault(nick(original.author), set()).add(post.author_id)
        assert post.url.endswith(f"/{(original.position - 1) // 5 + 1}#anchor-m{original.position}")
        assert post.evidence is not None and verify(settings.data_dir, post.evidence)
    assert all(len(ids) == 1 for ids in pseudonyms.values())
    named = {name for name in pseudonyms if name not in ("Anonym", "TS")}
    assert len({next(iter(pseudonyms[name])) for name in named}) == len(named)  # one pseudonym per nick


def test_familjeliv_grown_site_yields_only_new_posts_from_the_last_page_read(
    settings: Settings, tmp_path: Path
) -> None:
    two_days_ago = FamiljelivSite(hide_days=2)
    with ReplayServer({"fl": two_days_ago}, default="fl") as server:
        settings, source = configure(FAMILJELIV_TOML, server.url, tmp_path / "config")
        old, old_posts = run_crawl(source, settings, tmp_path / "1")
        assert crawlers.commit_state(old, settings)
    today = FamiljelivSite()
    with ReplayServer({"fl": today}, default="fl") as server:
        _, new_posts = run_crawl(source.model_copy(update={"base_url": server.url}), settings, tmp_path / "2")
    grown = {fl_id(t, p) for t, p in recent(today)} - {fl_id(t, p) for t, p in recent(two_days_ago)}
    assert grown and sorted(p.id for p in new_posts) == sorted(grown)
    assert not {p.id for p in new_posts} & {p.id for p in old_posts}
    long_thread = today.threads[0]
    # the stored state names the last page read (page 2 of 9 posts) as a path: a new port changes nothing
    assert today.requested(today.thread_url(long_thread, 2)) == 1
    assert today.requested(today.thread_url(long_thread, 1)) == 0
    assert today.requested(today.thread_url(today.threads[5], 1)) == 0  # unchanged thread skipped


def test_familjeliv_reads_from_page_one_when_the_page_read_last_is_gone(settings: Settings, tmp_path: Path) -> None:
    yesterday = FamiljelivSite(hide_days=1, posts_per_page=3)
    with ReplayServer({"fl": yesterday}, default="fl") as server:
        settings, source = configure(FAMILJELIV_TOML, server.url, tmp_path / "config")
        old, _ = run_crawl(source, settings, tmp_path / "1")
        assert crawlers.commit_state(old, settings)
    state = json.loads((settings.data_dir / "state" / "familjeliv.json").read_text(encoding="utf-8"))
    long_thread = yesterday.threads[0]
    assert state["threads"][str(long_thread.id)]["last_url"] == yesterday.thread_url(long_thread, 4)
    today = FamiljelivSite(posts_per_page=10)  # the forum now shows ten posts a page: page 4 is gone
    with ReplayServer({"fl": today}, default="fl") as server:
        result, posts = run_crawl(source.model_copy(update={"base_url": server.url}), settings, tmp_path / "2")
    assert result.failures == {}
    assert sorted(p.id for p in posts) == sorted(fl_id(t, p) for t, p in today.posts() if p.days_ago == 0)
    asked = thread_pages(today)
    gone, first, second = (today.thread_url(long_thread, n) for n in (4, 1, 2))
    assert asked.index(gone) < asked.index(first) < asked.index(second)


def test_the_crawl_command_reads_the_forum_from_vaktpost_toml(data_dir: Path, tmp_path: Path) -> None:
    site = FamiljelivSite()
    configure(FAMILJELIV_TOML, "https://www.familjeliv.se", tmp_path, since_days=800)  # ./vaktpost.toml
    with ReplayServer({"fl": site}, default="fl") as server:
        command = [sys.executable, "-m", "vaktpost.cli", "crawl", "forum", "--base-url", server.url]
        command += ["--start", "/forum/new/1"]
        env = {"VAKTPOST_DATA_DIR": str(data_dir), "PATH": ""}
        first = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        second = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    lines = [Post.model_validate_json(line) for line in first.stdout.splitlines()]
    expected = {fl_id(t, p): p for t, p in site.posts()}
    assert sorted(p.id for p in lines) == sorted(expected)  # since_days = 800 reaches last year's thread
    assert all(p.created_at == expected[p.id].created_at for p in lines)  # "D mon YYYY HH:MM" included
    assert second.stdout == "" and "0 posts" in second.stderr


# -- phpBB-like board ------------------------------------------------------------------------------


def test_phpbb_board_by_configuration_alone(settings: Settings, tmp_path: Path) -> None:
    site = PhpbbSite()
    with ReplayServer({"pb": site}, default="pb") as server:
        settings, source = configure(PHPBB_TOML, server.url, tmp_path / "config")
        first, posts = run_crawl(source, settings, tmp_path / "1")
        assert crawlers.commit_state(first, settings)
        before = len(site.requests)
        second, nothing = run_crawl(source, settings, tmp_path / "2")
    expected = {f"osterbotten:{p.id}": (t, p) for t, p in recent(site)}
    assert first.failures == {} and second.failures == {}
    assert sorted(p.id for p in posts) == sorted(expected)
    # listing dates: the old sticky and the thread whose newest post is 50 days old are never fetched
    assert not [t for t in thread_pages(site) if t.endswith(("t=31", "t=45"))]
    assert site.requested("/viewforum.php?f=3&start=3") == 1 and site.requested("/viewtopic.php?f=3&t=42&start=8") == 1
    by_user: dict[int, set[str | None]] = {}
    for post in posts:
        thread, original = expected[post.id]
        assert post.text == original.text
        assert post.quoted_text == (original.quote.text if original.quote else None)  # without the <cite> header
        assert post.reply_to == (f"osterbotten:{original.quote.id}" if original.quote else None)
        assert post.created_at == original.created_at  # "07.11.2026 20:15" read in Helsinki time
        assert post.title == thread.title and post.thread_id == f"osterbotten:t{thread.id}"
        assert post.author_name == original.author
        assert post.url == f"{server.url}/viewtopic.php?p={original.id}#p{original.id}"  # no session id
        assert (post.author_id is None) == (original.user_id is None)
        if original.user_id is not None:
            by_user.setdefault(original.user_id, set()).add(post.author_id)
    assert all(len(ids) == 1 for ids in by_user.values())
    assert len({next(iter(ids)) for ids in by_user.values()}) == len(by_user)  # one pseudonym per profile
    assert nothing == []
    # an unchanged board: page 1 of the listing shows nothing newer than last time, so that is all it reads
    assert [t for t, _ in site.requests[before:]] == ["/robots.txt", "/viewforum.php?f=3"]
    state = json.loads((settings.data_dir / "state" / "osterbotten.json").read_text(encoding="utf-8"))
    assert "sid=" not in json.dumps(state)


def test_429_waits_for_retry_after_and_500_is_retried(settings: Settings, tmp_path: Path) -> None:
    site = PhpbbSite()
    site.faults.errors = {
        "/viewforum.php?f=3": [(429, {"Retry-After": "2"})],
        "/viewtopic.php?f=3&t=43": [(500, {})],
    }
    with ReplayServer({"pb": site}, default="pb") as server:
        settings, source = configure(PHPBB_TOML, server.url, tmp_path / "config")
        result, posts = run_crawl(source, settings, tmp_path / "w")
    listing = [at for target, at in site.requests if target == "/viewforum.php?f=3"]
    assert len(listing) == 2 and listing[1] - listing[0] >= 2.0
    assert site.requested("/viewtopic.php?f=3&t=43") == 2  # the 500, then the page
    assert result.failures == {}
    assert len(posts) == len(recent(site))


def test_walls_garbage_timeouts_and_robots_are_counted_never_stored(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAKTPOST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VAKTPOST_CRAWL__DOWNLOAD_TIMEOUT_S", "1")
    monkeypatch.setenv("VAKTPOST_CRAWL__RETRIES", "1")
    site = FamiljelivSite()
    fl = {t.id: t for t in site.threads}
    walls = {"login": "login", "challenge": "challenge", "blocked": "blocked", "garbage": "garbage"}
    walls |= {"binary": "binary", "redesigned": "redesigned"}
    site.faults.broken = {f"/walls/{name}": mode for name, mode in walls.items()}
    site.faults.broken[site.thread_url(fl[81230002])] = "login"
    site.faults.broken[site.thread_url(fl[81230006])] = "redesigned"
    site.faults.slow = {site.thread_url(fl[81230005])}
    site.faults.disallow = [f"/forum/thread/{fl[81230004].id}-"]
    starts = ["/forum/new/1", *(f"/walls/{name}" for name in walls)]
    toml = FAMILJELIV_TOML.replace('start_urls = ["/forum/new/1"]', f"start_urls = {json.dumps(starts)}")
    with ReplayServer({"fl": site}, default="fl") as server:
        settings, source = configure(toml, server.url, tmp_path / "config")
        result, posts = run_crawl(source, settings, tmp_path / "w")
    assert result.failures == {
        "login_wall": 2,
        "challenge_page": 1,
        "access_denied": 1,
        "unexpected_markup": 3,  # the garbage body, a redesigned listing and a redesigned thread page
        "not_html": 1,
        "timeout": 1,
        "robots_disallowed": 1,
    }
    assert not any(t.startswith(f"/forum/thread/{fl[81230004].id}-") for t, _ in site.requests)
    healthy = {fl[81230001].id, fl[81230003].id}
    assert sorted(p.id for p in posts) == sorted(fl_id(t, p) for t, p in recent(site) if t.id in healthy)
    log = result.log_file.read_text(encoding="utf-8")
    assert f"unexpected_markup at {server.url}{site.thread_url(fl[81230006])}" in log
    assert all(post.text not in log for post in fl[81230001].posts)  # URLs and ids only, never what was said
    pending = json.loads(result.pending_state.read_text(encoding="utf-8"))
    assert sorted(pending["threads"]) == sorted(map(str, healthy))  # failed threads are fetched again next run
