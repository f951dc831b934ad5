"""The RSS/Atom spider crawls the replay feeds over real HTTP, each crawl in its own process, as in production.

Expected values come from tests/fixtures/rss/expected.json, written by hand from the fixture XML.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

import crawlers
from crawlers.evidence import verify
from crawlers.spiders.rss import _author, _content, _lang, clean_url
from demo.flashback_site import Page
from demo.replay import ReplayServer
from tests.replay.rss_site import FIXTURES, RssSite
from vaktpost.schema import Post
from vaktpost.settings import Settings, load_settings
from vaktpost.sources import RssSource

EXPECTED: list[dict[str, Any]] = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))["entries"]
HORIZON = datetime(2026, 6, 1, tzinfo=UTC)  # between the fixtures' old entries and the rest
HOST = "127.0.0.1"
SHARED = Path("/work/shared/fixtures/rss")


def since_days() -> int:
    return (datetime.now(UTC) - HORIZON).days


def post_id(key: str) -> str:
    return "rss:" + hashlib.sha1(key.replace("{host}", HOST).encode()).hexdigest()[:16]


def expected(*feeds: str) -> dict[str, dict[str, Any]]:
    """Fixture entries of these feeds that a crawl must yield (not older than the horizon), by post id."""
    return {post_id(e["key"]): e for e in EXPECTED if e["feed"] in feeds and "skipped" not in e}


def source(server: ReplayServer, *feeds: str, **settings: Any) -> RssSource:
    return RssSource(kind="rss", base_url=server.url, feeds=list(feeds), delay_s=0, since_days=since_days(), **settings)


def run_crawl(source: RssSource, settings: Settings, work: Path) -> tuple[crawlers.CrawlResult, list[Post]]:
    result = crawlers.crawl(source, settings, work)
    assert result.ok, (result.error, result.log_file.read_text(encoding="utf-8")[-3000:])
    return result, list(crawlers.read_posts(result.posts_file))


def check(post: Post, entry: dict[str, Any], settings: Settings, started: datetime) -> None:
    assert post.title == entry["title"]
    assert post.text == entry["text"]
    assert post.quoted_text == entry["quoted_text"]
    assert post.author_name == entry["author_name"]
    assert (post.author_id is None) == (entry["author_name"] is None)
    assert post.lang == entry["lang"]
    if entry["created_at"] is None:  # undated: the fetch time
        assert started <= post.created_at <= datetime.now(UTC)
    else:
        assert post.created_at == datetime.fromisoformat(entry["created_at"])
    assert post.reply_to == (post_id(entry["reply_to"]) if entry["reply_to"] else None)
    assert post.thread_id == post_id(entry["thread"])
    assert post.metrics == ({"comments": entry["comments"]} if entry["comments"] is not None else {})
    if "also_in" in entry:  # either feed's copy may win: their links differ only in tracking parameters
        assert clean_url(post.url) == clean_url(entry["url"])
    else:
        assert post.url == entry["url"]
    for escaped in ("&amp;", "&lt;", "&quot;", "<p>", "<br", "]]>", "CDATA"):
        assert escaped not in post.text and escaped not in (post.title or "")
    assert post.evidence is not None and verify(settings.data_dir, post.evidence)


def check_all(posts: list[Post], wanted: dict[str, dict[str, Any]], settings: Settings, started: datetime) -> None:
    assert sorted(p.id for p in posts) == sorted(wanted)  # each once: the pipeline drops a repeat in one crawl
    for post in posts:
        check(post, wanted[post.id], settings, started)


@pytest.fixture
def site() -> RssSite:
    return RssSite()


@pytest.fixture
def server(site: RssSite) -> Iterator[ReplayServer]:
    with ReplayServer({"rss": site}, default="rss") as server:
        yield server


# -- extraction ------------------------------------------------------------------------------------


def test_news_feeds_every_entry_and_one_article_in_two_feeds_is_one_post(
    settings: Settings, tmp_path: Path, server: ReplayServer
) -> None:
    started = datetime.now(UTC)
    result, posts = run_crawl(source(server, "/rss/nyheter", "/rss/lokalt"), settings, tmp_path)
    assert result.failures == {}
    check_all(posts, expected("nyheter", "lokalt"), settings, started)
    log = result.log_file.read_text(encoding="utf-8")
    assert result.notes == {"undated_entry": 1}  # counted, not a failure
    assert "'vaktpost/duplicate_in_crawl': 2" in log  # the two articles the local feed repeats
    by_author = {p.author_name: p.author_id for p in posts if p.author_name}
    assert len(set(by_author.values())) == len(by_author)  # one pseudonym per name on this host
    assert all(p.author_id == by_author[p.author_name] for p in posts if p.author_name)
    for post in posts:  # no names, no text in the log
        assert post.text not in log and (post.author_name is None or post.author_name not in log)


def test_wordpress_posts_and_comments_point_at_their_article(
    settings: Settings, tmp_path: Path, server: ReplayServer
) -> None:
    started = datetime.now(UTC)
    feeds = source(server, "/blogg/feed/", "/blogg/comments/feed/", follow_comment_feeds=False)
    result, posts = run_crawl(feeds, settings, tmp_path)
    assert result.failures == {}
    check_all(posts, expected("wp-posts", "wp-comments"), settings, started)
    ids = {p.id for p in posts}
    assert all(p.reply_to in ids for p in posts if p.reply_to)  # a comment's guid names its article's guid


def test_blogger_atom_pages_followed_and_comments_threaded(
    settings: Settings, tmp_path: Path, site: RssSite, server: ReplayServer
) -> None:
    started = datetime.now(UTC)
    feeds = source(server, "/feeds/posts/default", "/feeds/comments/default", follow_comment_feeds=False)
    result, posts = run_crawl(feeds, settings, tmp_path)
    assert result.failures == {}
    check_all(posts, expected("blogger-posts", "blogger-comments"), settings, started)
    pages = [r.target for r in site.seen if r.target.startswith("/feeds/posts/default")]
    assert pages == [
        "/feeds/posts/default",
        "/feeds/posts/default?start-index=3&max-results=2",
        "/feeds/posts/default?start-index=5&max-results=2",  # holds only an entry older than the horizon
    ]


def test_comment_feeds_are_read_when_their_count_grows(settings: Settings, tmp_path: Path) -> None:
    started = datetime.now(UTC)
    before = RssSite(hide_newest={"wp-comments": 1})  # the newest comment not yet written
    with ReplayServer({"rss": before}, default="rss") as server:
        blog = source(server, "/blogg/feed/")
        first, posts = run_crawl(blog, settings, tmp_path / "1")
        assert crawlers.commit_state(first, settings)
    wanted = expected("wp-posts", "wp-comments")
    newest = post_id("https://granskningen.example/?p=412#comment-2291")
    assert sorted(p.id for p in posts) == sorted(set(wanted) - {newest})
    for post in posts:
        if post.reply_to:  # read from each article's own feed: WordPress titles them "Av: <name>"
            assert post.title == f"Av: {post.author_name}"
            check(post, {**wanted[post.id], "title": post.title}, settings, started)
    assert {r.target for r in before.seen if r.target.endswith("/feed/") and r.target != "/blogg/feed/"} == {
        "/blogg/2026/11/21/vad-socialtjansten-inte-berattar/feed/",
        "/blogg/2026/11/15/mitt-mote-med-handlaggaren/feed/",
        "/blogg/2026/04/02/varfor-jag-startar-bloggen/feed/",  # an old post, but its comments could be new
    }
    after = RssSite()
    with ReplayServer({"rss": after}, default="rss") as server:
        blog = source(server, "/blogg/feed/")
        second, posts = run_crawl(blog, settings, tmp_path / "2")
        assert crawlers.commit_state(second, settings)
        _, third = run_crawl(blog, settings, tmp_path / "3")
    assert [p.id for p in posts] == [newest]
    # WordPress dates the posts feed by its newest post: a conditional GET would have hidden the new comment
    assert "if-none-match" not in after.requests_to("/blogg/feed/")[0].headers
    assert [r.target for r in after.seen if r.target.startswith("/blogg/2026")] == [
        "/blogg/2026/11/21/vad-socialtjansten-inte-berattar/feed/"
    ]
    assert third == []


# -- incremental -----------------------------------------------------------------------------------


def test_uncommitted_crawl_is_fetched_again_and_a_committed_one_asks_conditionally(
    settings: Settings, tmp_path: Path, site: RssSite, server: ReplayServer
) -> None:
    feeds = source(server, "/rss/nyheter", "/rss/lokalt", "/feeds/posts/default")
    _, died = run_crawl(feeds, settings, tmp_path / "1")
    # that run died before its posts were stored: nothing was committed, nothing may be lost
    first, posts = run_crawl(feeds, settings, tmp_path / "2")
    assert died and {p.id for p in posts} == {p.id for p in died}
    assert [r.headers.get("if-none-match") for r in site.requests_to("/rss/nyheter")] == [None, None]
    assert crawlers.commit_state(first, settings)
    asked = len(site.seen)
    second, again = run_crawl(feeds, settings, tmp_path / "3")
    assert again == [] and second.failures == {}
    nyheter, lokalt = site.requests_to("/rss/nyheter")[-1], site.requests_to("/rss/lokalt")[-1]
    assert nyheter.status == lokalt.status == 304
    assert {"if-none-match", "if-modified-since"} <= set(nyheter.headers)
    assert "if-modified-since" in lokalt.headers and "if-none-match" not in lokalt.headers  # it sends no ETag
    assert site.requests_to("/feeds/posts/default")[-1].status == 200  # no validators: the seen set decides
    assert not any("start-index" in r.target for r in site.seen[asked:])  # its page 1 was all seen


def test_a_grown_feed_yields_only_its_new_entries(settings: Settings, tmp_path: Path) -> None:
    started = datetime.now(UTC)
    earlier = RssSite(hide_newest={"nyheter": 3, "blogger-posts": 1}, window=8)
    with ReplayServer({"rss": earlier}, default="rss") as server:
        feeds = source(server, "/rss/nyheter", "/feeds/posts/default", follow_comment_feeds=False)
        first, old = run_crawl(feeds, settings, tmp_path / "1")
        assert crawlers.commit_state(first, settings)
    now = RssSite(window=8)  # three new articles; the three oldest fell out of the feed's window
    with ReplayServer({"rss": now}, default="rss") as server:
        feeds = source(server, "/rss/nyheter", "/feeds/posts/default", follow_comment_feeds=False)
        second, new = run_crawl(feeds, settings, tmp_path / "2")
    wanted = expected("nyheter", "blogger-posts")
    newest_news = [post_id(e["key"]) for e in EXPECTED if e["feed"] == "nyheter"][:3]
    newest_blog = post_id("tag:blogger.com,1999:blog-7730211940615320001.post-4410005")
    assert sorted(p.id for p in new) == sorted([*newest_news, newest_blog])
    assert not {p.id for p in new} & {p.id for p in old}
    for post in new:
        check(post, wanted[post.id], settings, started)
    assert now.requests_to("/rss/nyheter")[0].status == 200  # the validators no longer matched
    assert not any("start-index" in r.target for r in now.seen)  # page 1 reached entries already seen
    assert second.failures == {}


# -- faults ----------------------------------------------------------------------------------------


@pytest.fixture
def quick_retries(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose retries back off briefly (0.2 s, 0.4 s): the tests check order and counting."""
    monkeypatch.setenv("VAKTPOST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VAKTPOST_CRAWL__RETRY_BACKOFF_S", "0.2")
    return load_settings()


def test_429_waits_as_long_as_retry_after_and_500_is_retried(quick_retries: Settings, tmp_path: Path) -> None:
    settings = quick_retries
    site = RssSite(faults={"/rss/nyheter": [(429, {"Retry-After": "2"})], "/rss/lokalt": [(500, {}), (503, {})]})
    with ReplayServer({"rss": site}, default="rss") as server:
        result, posts = run_crawl(source(server, "/rss/nyheter", "/rss/lokalt"), settings, tmp_path)
    news = site.requests_to("/rss/nyheter")
    assert [r.status for r in news] == [429, 200] and news[1].at - news[0].at >= 2.0
    assert [r.status for r in site.requests_to("/rss/lokalt")] == [500, 503, 200]
    assert result.failures == {}
    assert {p.id for p in posts} == set(expected("nyheter", "lokalt"))


@pytest.mark.usefixtures("quick_retries")
def test_timeouts_and_unreasonable_waits_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAKTPOST_CRAWL__DOWNLOAD_TIMEOUT_S", "1")
    monkeypatch.setenv("VAKTPOST_CRAWL__RETRIES", "1")
    settings = load_settings()
    site = RssSite(faults={"/rss/nyheter": [(429, {"Retry-After": "86400"})]}, slow={"/rss/lokalt"}, slow_s=1.5)
    with ReplayServer({"rss": site}, default="rss") as server:
        result, posts = run_crawl(
            source(server, "/rss/nyheter", "/rss/lokalt", "/feeds/comments/default"), settings, tmp_path
        )
    assert result.failures == {"http_429": 1, "timeout": 1}
    assert {p.id for p in posts} == set(expected("blogger-comments"))  # the healthy feed still counts


def test_walls_garbage_and_broken_feeds_are_counted_never_stored(
    settings: Settings, tmp_path: Path, server: ReplayServer
) -> None:
    started = datetime.now(UTC)
    feeds = source(
        server,
        "/rss/trasig",
        "/rss/odaterad",
        "/rss/skrap",
        "/rss/tom",
        "/rss/samtycke",
        "/rss/inloggning",
        "/rss/sparrad",
        "/rss/saknas",
    )
    result, posts = run_crawl(feeds, settings, tmp_path / "1")
    assert result.failures == {
        "malformed_feed": 2,  # the cut-off feed (entries kept) and the garbage (none)
        "empty_feed": 1,
        "not_a_feed": 1,  # a cookie consent page where the feed was
        "login_wall": 1,
        "access_denied": 1,
        "http_404": 1,
        "unparsable_date": 1,  # the entry is kept, dated when it was fetched
    }
    check_all(posts, expected("trasig", "odaterad"), settings, started)
    assert crawlers.commit_state(result, settings)
    again, none = run_crawl(feeds, settings, tmp_path / "2")
    assert none == [] and again.failures["malformed_feed"] == 2  # still reported, never re-stored


def test_robots_txt_is_obeyed(settings: Settings, tmp_path: Path, site: RssSite, server: ReplayServer) -> None:
    result, posts = run_crawl(source(server, "/privat/rss"), settings, tmp_path)
    assert posts == [] and [r.target for r in site.seen] == ["/robots.txt"]
    assert result.failures == {"robots_disallowed": 1} and result.pages == 1


# -- the parser on real feeds, the command line, the pieces ----------------------------------------


class SharedFeeds:
    """Serves recorded real feeds from the shared fixtures, one path per file."""

    def __init__(self, files: list[Path]) -> None:
        self.files = {f"/{path.name}": path for path in files}

    def handle(self, path: str, query: str, host: str = "") -> Page:
        if path in self.files:
            return Page(200, self.files[path].read_bytes(), "application/xml")
        return Page(404, b"", "text/plain")


def test_parser_on_recorded_real_feeds(settings: Settings, tmp_path: Path) -> None:
    files = sorted(p for p in SHARED.glob("*") if p.suffix in (".xml", ".rss", ".atom")) if SHARED.is_dir() else []
    if not files:
        pytest.skip(f"no recorded real feeds under {SHARED}")
    with ReplayServer({"shared": SharedFeeds(files)}, default="shared") as server:
        feeds = source(server, *(f"/{path.name}" for path in files)).model_copy(update={"since_days": 36500})
        result, posts = run_crawl(feeds, settings, tmp_path)
    assert result.failures == {} and posts
    for post in posts:
        assert post.text or post.title
        assert "&lt;" not in post.text and "<p>" not in post.text


def test_crawl_command_writes_json_lines_and_resumes(data_dir: Path, tmp_path: Path, server: ReplayServer) -> None:
    command = [sys.executable, "-m", "vaktpost.cli", "crawl", "rss", "--base-url", server.url, "--start", "/rss/lokalt"]
    env = {
        "VAKTPOST_DATA_DIR": str(data_dir),
        "VAKTPOST_SOURCES": json.dumps([{"kind": "rss", "delay_s": 0, "since_days": since_days()}]),
        "PATH": "",
    }
    first = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    lines = [Post.model_validate_json(line) for line in first.stdout.splitlines()]
    in_feed = [e for e in EXPECTED if e["feed"] == "lokalt" or e.get("also_in") == "lokalt"]
    assert sorted(p.id for p in lines) == sorted(post_id(e["key"]) for e in in_feed)
    assert {p.title for p in lines} == {e["title"] for e in in_feed}  # served in ISO-8859-1: å, ä, ö intact
    out = tmp_path / "again.jsonl"
    second = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, env=env, check=False, cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr
    assert out.read_text(encoding="utf-8") == ""
    assert "0 posts" in second.stderr


def test_feed_paths_need_a_base_url() -> None:
    with pytest.raises(ValueError, match="set base_url"):
        RssSource(kind="rss", feeds=["/rss/nyheter"])
    assert RssSource(kind="rss", feeds=["https://news.example/feed/"]).feeds == ["https://news.example/feed/"]


def test_tracking_parameters_go_and_everything_else_stays() -> None:
    assert (
        clean_url("https://Tidning.example/a/1?utm_source=rss&id=7&mc_cid=x&fbclid=y#comment-3")
        == "https://tidning.example/a/1?id=7#comment-3"
    )
    assert clean_url("https://blogg.example/?p=412") == "https://blogg.example/?p=412"
    assert clean_url("https://blogg.example/x/#comment-9", fragment=False) == "https://blogg.example/x/"


def test_authors_languages_and_one_unescape_per_layer() -> None:
    feed = feedparser.parse(
        io.BytesIO(
            b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><language>SV_se</language>'
            b"<item><author>red@tidning.example (Anna Berg)</author>"
            b"<description>&lt;p&gt;R&amp;amp;D &amp;amp;amp; &amp;lt;3&lt;/p&gt;</description></item>"
            b"<item><author>anna.berg@tidning.example</author><description>Bara text</description></item>"
            b"</channel></rss>"
        )
    )
    first, second = feed.entries
    assert _author(first) == ("Anna Berg", "Anna Berg")
    assert _author(second) == (None, "anna.berg@tidning.example")  # an address tells authors apart, names none
    assert _author({"author": "Lena K (noreply@blogger.com)"}) == ("Lena K", "Lena K")
    assert _author({"author": "  A\u0301sa   Nilsson "})[0] == "\u00c1sa Nilsson"  # NFC, spaces collapsed
    assert _author({}) == (None, None)
    assert _lang(first, feed) == "sv"
    # XML entities undone by feedparser, HTML entities by the spider: once each, never twice
    assert _content(first) == ("R&D &amp; <3", None)
