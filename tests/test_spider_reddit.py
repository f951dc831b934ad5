"""The Reddit spider against the replay site (OAuth token, listings, searches, comment trees), each crawl in its
own process as in production; its parser also against responses recorded from the real API (../shared)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import crawlers
from crawlers.evidence import verify
from crawlers.pipelines import AUTHOR_FIELD
from crawlers.spiders.reddit import flatten_comments, gone, post_fields, split_quotes
from demo.replay import ReplayServer
from tests.replay.reddit_site import (
    CLIENT_ID,
    CLIENT_SECRET,
    Fault,
    RedditSite,
    walk_comments,
)
from vaktpost.schema import Post
from vaktpost.settings import Settings, load_settings
from vaktpost.sources.reddit import RedditSource

RECORDED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "reddit"
TERMS = ["socialtjänsten", "LVU"]
# threads a search for TERMS finds, or whose title or text holds one of them: their comments are read
MATCHING = {"1m3b2c4", "1m3f9k2", "1m3u0r5", "1m48w6n", "1m49r1t", "1m4cz2a", "1m4ejk3"}
USER_AGENT = "python:vaktpost:0.1.0 (by /u/vaktpost) (+https://github.com/vaktpost/vaktpost)"


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAKTPOST_REDDIT_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("VAKTPOST_REDDIT_CLIENT_SECRET", CLIENT_SECRET)


def reddit_source(url: str, **changes: Any) -> RedditSource:
    fields: dict[str, Any] = {
        "kind": "reddit",
        "base_url": url,
        "token_url": f"{url}/api/v1/access_token",
        "subreddits": ["sweden", "svenskpolitik"],
        "search_terms": TERMS,
        "delay_s": 0,
        **changes,
    }
    return RedditSource(**fields)


def run_crawl(source: RedditSource, settings: Settings, work: Path) -> tuple[crawlers.CrawlResult, list[Post]]:
    result = crawlers.crawl(source, settings, work)
    assert result.ok, (result.error, result.log_file.read_text(encoding="utf-8")[-3000:])
    return result, list(crawlers.read_posts(result.posts_file))


def expected_ids(site: RedditSite, since_days: int = 30) -> set[str]:
    """What a first crawl must collect: live submissions inside the horizon, live comments of matching threads."""
    ids: set[str] = set()
    for post in site.submissions():
        if post.age_min > since_days * 1440:
            continue
        if not (post.deleted or post.removed):
            ids.add(f"reddit:{post.name}")
        if post.id in MATCHING:
            ids |= {f"reddit:{c.name}" for c in site.comments_of(post) if not (c.deleted or c.removed)}
    return ids


def test_every_item_with_its_text_date_author_thread_and_quotes(settings: Settings, tmp_path: Path) -> None:
    site = RedditSite()
    with ReplayServer({"r": site}, default="r") as server:
        result, posts = run_crawl(reddit_source(server.url, page_size=5), settings, tmp_path)
    assert result.failures == {}
    by_id = {p.id: p for p in posts}
    assert len(posts) == len(by_id) and set(by_id) == expected_ids(site)
    threads = {p.id: p for p in site.posts}
    for post in site.submissions():
        item = by_id.get(f"reddit:{post.name}")
        if item is None:
            continue
        assert item.title == post.title and item.thread_id == item.id and item.reply_to is None
        assert item.created_at == datetime.fromtimestamp(site.created(post.age_min), UTC)
        assert item.author_name == post.author and item.author_id and post.author not in item.author_id
        assert item.metrics == {"score": post.score, "num_comments": len(site.comments_of(post)), "num_crossposts": 0}
        assert item.url.startswith(f"https://www.reddit.com/r/{post.subreddit}/comments/{post.id}/")
        assert item.evidence is not None and verify(settings.data_dir, item.evidence)
        if post.id == "1m49r1t":  # a submission quoting a newspaper: the quote is kept apart
            own = "Lokaltidningen skriver:\n\nDet här känns igen från min egen kommun. Borde inte IVO granska det här?"
            assert item.text == f"{post.title}\n\n{own}"  # the title is the poster's own words too
            assert item.quoted_text == "Flera familjer vittnar om bristande information under utredningarna."
        else:
            assert item.text == "\n\n".join(part for part in (post.title, post.selftext) if part)
            assert item.quoted_text is None
    quoting = {
        "n7q002d": ("Ungefär fyra månader hos oss, med hembesök två gånger och en utbildning på fyra kvällar.",
                    "Hur lång tid tog utredningen"),
        "n7q00gr": ("Bra råd. Be också om att få protokollen skickade till er.", "Skriv ner allt\nsom sägs på mötena"),
    }  # fmt: skip
    for thread_id in MATCHING:
        thread = threads[thread_id]
        for comment in walk_comments(thread.comments):
            item = by_id.get(f"reddit:{comment.name}")
            if comment.deleted or comment.removed:
                assert item is None
                continue
            assert item is not None, comment.id  # including those behind "more" and "continue this thread"
            assert item.thread_id == f"reddit:{thread.name}" and item.reply_to == f"reddit:{comment.parent}"
            assert item.title == thread.title and item.metrics == {"score": comment.score}
            assert item.created_at == datetime.fromtimestamp(site.created(comment.age_min), UTC)
            assert item.author_name == comment.author
            if comment.id in quoting:
                assert (item.text, item.quoted_text) == quoting[comment.id]
            elif comment.body and not comment.body.startswith(">"):
                assert item.text == comment.body and item.quoted_text is None
    # one pseudonym per Reddit account, whoever's words they are
    by_author: dict[str, set[str | None]] = {}
    for item in posts:
        by_author.setdefault(item.author_name or "", set()).add(item.author_id)
    assert all(len(ids) == 1 for ids in by_author.values())
    # deleted and removed items were counted, never stored
    assert result.notes == {"skipped_deleted": 2, "skipped_removed": 2}
    assert not any(p.text in ("[deleted]", "[removed]") for p in posts)
    asked = [target for method, target, _, _ in site.seen if method == "GET"]
    assert any("/r/sweden/new?" in t and "after=t3_" in t for t in asked), "the listing was paged with after="
    assert any(t.startswith("/api/morechildren?") and "link_id=t3_1m3u0r5" in t for t in asked)
    assert any(t.startswith("/comments/1m3u0r5?comment=") for t in asked), "continue-this-thread was followed"
    assert not any(t.startswith("/comments/1m3k1d7") for t in asked), "no comments of threads that do not match"
    assert [m for m, t, _, _ in site.seen if t == "/api/v1/access_token"] == ["POST"]
    assert {ua for _, _, ua, _ in site.seen} == {USER_AGENT}  # robots.txt included


def test_incremental_grown_site_and_a_crawl_that_was_never_committed(settings: Settings, tmp_path: Path) -> None:
    site = RedditSite()
    site.hide_younger_than_min = 240  # the site four hours ago
    source_changes = {"page_size": 5}
    with ReplayServer({"r": site}, default="r") as server:
        source = reddit_source(server.url, **source_changes)
        first, before = run_crawl(source, settings, tmp_path / "1")
        assert crawlers.commit_state(first, settings)
        site.hide_younger_than_min = None
        _, grown = run_crawl(source, settings, tmp_path / "2")
        # that crawl "died" before its posts were stored: its state was never committed, nothing may be lost
        again, grown_again = run_crawl(source, settings, tmp_path / "3")
        assert crawlers.commit_state(again, settings)
        site.seen.clear()
        _, unchanged = run_crawl(source, settings, tmp_path / "4")
        asked = [target for _, target, _, _ in site.seen]
    new = {
        f"reddit:{name}"
        for name in ("t3_1m4cz2a", "t3_1m4dh5w", "t3_1m4e9yc", "t3_1m4ejk3", "t1_n7q00oz", "t1_n7q00mx", "t1_n7q00ny")
    }  # four new submissions; new comments in a new thread and in two threads followed since the first crawl
    assert {p.id for p in before} == expected_ids(site) - new
    assert {p.id for p in grown} == new
    assert {p.id for p in grown_again} == new
    assert unchanged == []
    assert not any(t.startswith("/comments/") for t in asked), "comment counts unchanged: no thread read again"
    assert any(t.startswith("/api/info?id=") for t in asked)


def test_429_500_an_expired_token_and_the_rate_limit_headers(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAKTPOST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VAKTPOST_CRAWL__RETRY_BACKOFF_S", "0.1")
    settings = load_settings()
    site = RedditSite()
    site.faults = {
        "/r/sweden/new": [Fault.too_many(retry_after=1)],
        "/r/svenskpolitik/new": [Fault.server_error()],
        "/comments/1m48w6n": [Fault(revoke_tokens=True)],  # the token expires: 401, a new token, the page
    }
    site.ratelimit_budget, site.ratelimit_window_s = 8, 1.0
    with ReplayServer({"r": site}, default="r") as server:
        result, posts = run_crawl(reddit_source(server.url), settings, tmp_path)
    assert result.failures == {}
    assert {p.id for p in posts} == expected_ids(site)
    listing = [at for _, target, _, at in site.seen if target.startswith("/r/sweden/new?")]
    assert len(listing) >= 2 and listing[1] - listing[0] >= 1.0, "Retry-After was waited out"
    assert sum(1 for _, t, _, _ in site.seen if t.startswith("/r/svenskpolitik/new?")) >= 2
    # the revoked token: one 401 for each request under way, one new token, every page read after all
    assert site.tokens_issued == 2
    assert sum(1 for _, t, _, _ in site.seen if t.startswith("/comments/1m48w6n?")) == 2
    assert site.over_limit == 0, "the spider waited for the window to reset instead of running into 429s"


def test_block_pages_garbage_and_timeouts_are_counted_never_stored(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAKTPOST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VAKTPOST_CRAWL__DOWNLOAD_TIMEOUT_S", "1")
    monkeypatch.setenv("VAKTPOST_CRAWL__RETRIES", "0")
    settings = load_settings()
    site = RedditSite()
    site.faults = {
        "/r/sweden/new": [Fault.blocked(403)],  # "whoa there, pardner!"
        "/r/svenskpolitik/new": [Fault.blocked(200)],  # the same page with a 200
        "/r/sweden/search": [Fault.garbage()],
        "/r/asksweden/new": [Fault.not_a_listing()],
        "/comments/1m3f9k2": [Fault.hang(3)],
    }
    with ReplayServer({"r": site}, default="r") as server:
        subreddits = ["sweden", "svenskpolitik", "asksweden"]
        source = reddit_source(server.url, subreddits=subreddits, search_terms=["LVU"])
        result, posts = run_crawl(source, settings, tmp_path)
        with pytest.raises(urllib.error.HTTPError) as unauthenticated_json:
            urllib.request.urlopen(f"{server.url}/r/sweden/new.json")
        with pytest.raises(urllib.error.HTTPError) as without_token:
            urllib.request.urlopen(f"{server.url}/r/sweden/new")
    assert result.failures == {"access_denied": 2, "malformed_json": 1, "unexpected_json": 1, "timeout": 1}
    assert [p.id for p in posts] == ["reddit:t3_1m3f9k2"]  # found by the search that worked
    state = json.loads(result.pending_state.read_text(encoding="utf-8"))
    assert "watermark" not in state["listings"].get("new:sweden", {}), "a blocked listing is walked again next time"
    assert unauthenticated_json.value.code == 403 and b"blocked" in unauthenticated_json.value.read()
    assert without_token.value.code == 401


def test_missing_or_wrong_credentials_fail_clearly(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = RedditSite()
    with ReplayServer({"r": site}, default="r") as server:
        monkeypatch.delenv("VAKTPOST_REDDIT_CLIENT_SECRET")
        missing = crawlers.crawl(reddit_source(server.url), settings, tmp_path / "1")
        assert site.seen == []
        monkeypatch.setenv("VAKTPOST_REDDIT_CLIENT_SECRET", "fel")
        wrong = crawlers.crawl(reddit_source(server.url), settings, tmp_path / "2")
    assert not missing.ok and missing.failures == {"missing_credentials": 1}
    log = missing.log_file.read_text(encoding="utf-8")
    assert "VAKTPOST_REDDIT_CLIENT_ID" in log and "VAKTPOST_REDDIT_CLIENT_SECRET" in log
    assert wrong.failures == {"token_refused": 1}
    assert not wrong.ok and "could not go on: token_refused" in (wrong.error or "")  # reported as a failed source
    assert [t for _, t, _, _ in site.seen] == ["/api/v1/access_token"]
    assert list(crawlers.read_posts(wrong.posts_file)) == []


def test_robots_txt_is_obeyed_and_a_spent_expansion_budget_is_left_for_later(
    settings: Settings, tmp_path: Path
) -> None:
    site = RedditSite()
    site.robots = "User-agent: *\nDisallow: /r/svenskpolitik/\n"
    with ReplayServer({"r": site}, default="r") as server:
        result, posts = run_crawl(reddit_source(server.url, more_requests=0), settings, tmp_path)
    assert not any(t.startswith("/r/svenskpolitik/") for _, t, _, _ in site.seen)
    assert result.failures == {"robots_disallowed": 3}  # its listing and two searches
    assert posts and all("/r/sweden/" in p.url for p in posts)
    # no budget for "more" and "continue this thread": counted, and the thread is read again next time
    assert not any(t.startswith(("/api/morechildren", "/comments/1m3u0r5?comment=")) for _, t, _, _ in site.seen)
    assert result.notes["more_not_expanded"] == 2
    state = json.loads(result.pending_state.read_text(encoding="utf-8"))
    assert state["threads"]["t3_1m3u0r5"]["num_comments"] == -1
    assert state["threads"]["t3_1m48w6n"]["num_comments"] == 3


def test_crawl_command_writes_json_lines_and_resumes(data_dir: Path, tmp_path: Path) -> None:
    site = RedditSite()
    with ReplayServer({"r": site}, default="r") as server:
        command = [sys.executable, "-m", "vaktpost.cli", "crawl", "reddit", "--base-url", server.url]
        command += ["--start", "/r/sweden"]
        env = {
            "VAKTPOST_DATA_DIR": str(data_dir),
            "VAKTPOST_SOURCES": json.dumps(
                [{"kind": "reddit", "token_url": f"{server.url}/api/v1/access_token", "delay_s": 0}]
            ),
            "VAKTPOST_REDDIT_CLIENT_ID": CLIENT_ID,
            "VAKTPOST_REDDIT_CLIENT_SECRET": CLIENT_SECRET,
            "PATH": "",
        }
        first = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        out = tmp_path / "again.jsonl"
        second = subprocess.run(
            [*command, "--out", str(out)], capture_output=True, text=True, env=env, check=False, cwd=tmp_path
        )
    lines = [Post.model_validate_json(line) for line in first.stdout.splitlines()]
    sweden = [p for p in site.submissions() if p.subreddit == "sweden" and p.age_min < 30 * 1440]
    assert {p.id for p in lines} == {f"reddit:{p.name}" for p in sweden if not (p.deleted or p.removed)}
    assert second.returncode == 0, second.stderr
    assert out.read_text(encoding="utf-8") == "" and "0 posts" in second.stderr


# -- the parser against responses recorded from the real API -------------------------------------------------

recorded = pytest.mark.skipif(not RECORDED.is_dir(), reason="../shared/fixtures is not available")


def cassette_bodies(name: str) -> list[tuple[str, Any]]:
    interactions = json.loads((RECORDED / name).read_text(encoding="utf-8"))["interactions"]
    return [
        (i["request"]["uri"], json.loads(i["response"]["body"]["string"]))
        for i in interactions
        if i["request"]["method"] == "GET"
    ]


@recorded
def test_a_recorded_listing_crawls_into_posts(settings: Settings, tmp_path: Path) -> None:
    uri, listing = cassette_bodies("praw_cassette_TestSubredditListings.test_new.json")[0]
    site = RedditSite()
    assert urlsplit(uri).path == "/r/askreddit/new"  # served where the spider asks for r/askreddit's newest
    site.recorded["/r/askreddit/new"] = json.dumps(listing).encode("utf-8")
    with ReplayServer({"r": site}, default="r") as server:
        source = reddit_source(server.url, subreddits=["askreddit"], search_terms=[], since_days=4500)
        result, posts = run_crawl(source, settings, tmp_path)
    assert result.failures == {}
    things = [c["data"] for c in listing["data"]["children"]]
    live = {t["name"]: t for t in things if gone("t3", t) is None}
    assert len(live) > 50 and {p.id for p in posts} == {f"reddit:{name}" for name in live}
    for post in posts:
        thing = live[post.native_id]
        assert post.title == thing["title"] and post.thread_id == post.id
        assert post.created_at == datetime.fromtimestamp(thing["created_utc"], UTC)
        assert post.url == f"https://www.reddit.com{thing['permalink']}"
        assert post.metrics["num_comments"] == thing["num_comments"]
        own = split_quotes(thing["selftext"])[0]
        assert post.text == "\n\n".join(part for part in (thing["title"], own) if part) and "<p>" not in post.text
        assert (post.author_id is None) == (thing["author"] == "[deleted]")


@recorded
def test_recorded_threads_comments_and_placeholders_parse() -> None:
    web = "https://www.reddit.com"
    # a whole thread from 2016, without raw_json=1: & < > come escaped, quotes start with "&gt;"
    thread = json.loads((RECORDED / "graw_testdata_thread.json").read_text(encoding="utf-8"))
    tree = flatten_comments(thread[1]["data"]["children"])
    assert (len(tree.comments), tree.malformed) == (199, 0) and tree.more
    removed = [c for c in tree.comments if gone("t1", c)]
    assert sorted(gone("t1", c) or "" for c in removed) == ["deleted"] * 4 + ["removed"]
    quoted = 0
    for comment in tree.comments:
        if gone("t1", comment):
            continue
        fields = post_fields("t1", comment, web_url=web, legacy=True, thread_title="t")
        assert "&gt;" not in fields["text"] and "&amp;" not in fields["text"] and "&lt;" not in fields["text"]
        assert fields["thread_id"] == "reddit:t3_1cebxh" and fields["reply_to"] == f"reddit:{comment['parent_id']}"
        quoted += fields["quoted_text"] is not None
    assert quoted >= 2
    # /api/morechildren (2020): a flat list of things with author fullnames, and more stubs
    more = json.loads((RECORDED / "graw_testdata_more.json").read_text(encoding="utf-8"))
    flat = flatten_comments(more["json"]["data"]["things"])
    assert len(flat.comments) == 50 and len(flat.more) >= 11
    for comment in flat.comments:
        fields = post_fields("t1", comment, web_url=web, legacy=True)
        assert fields[AUTHOR_FIELD] == comment.get("author_fullname", fields["author_name"])
        assert fields["url"] == f"{web}{comment['permalink']}"
    # 2023, raw_json=1: the newest comments of a subreddit, with link titles and t2 fullnames
    for _, listing in cassette_bodies("praw_cassette_TestSubredditStreams.test_comments__with_continue_after_id.json"):
        for child in listing["data"]["children"]:
            comment = child["data"]
            if gone("t1", comment):
                continue
            fields = post_fields("t1", comment, web_url=web)
            assert fields["title"] == comment["link_title"] and fields["text"].strip() == fields["text"]
            assert fields[AUTHOR_FIELD] == comment["author_fullname"]
            fields.pop(AUTHOR_FIELD)
            assert Post.model_validate({**fields, "source": "reddit", "collected_at": datetime.now(UTC)})
    # a deleted comment: no author fullname, "[deleted]" text; a big thread page from 2017 in which a comment,
    # still returned by /api/info, is no longer listed (removed): every comment there parses
    (_, deleted), _ = cassette_bodies("praw_cassette_TestComment.test_refresh__deleted_comment.json")
    assert gone("t1", deleted["data"]["children"][0]["data"]) == "deleted"
    (_, info), (_, context) = cassette_bodies("praw_cassette_TestComment.test_refresh__removed_comment.json")
    around = flatten_comments(context[1]["data"]["children"])
    assert len(around.comments) > 100 and around.malformed == 0
    assert info["data"]["children"][0]["data"]["id"] not in {c["id"] for c in around.comments}
    for comment in around.comments:
        if not gone("t1", comment):
            assert post_fields("t1", comment, web_url=web)["thread_id"] == "reddit:t3_6wmniq"
    # 2025: a submission whose category says removed but whose text was captured: the first copy is kept
    (_, submitted), *_ = cassette_bodies("praw_cassette_TestSubreddit.test_submit__url_selftext.json")
    submission = submitted[0]["data"]["children"][0]["data"]
    assert submission["removed_by_category"] == "reddit" and gone("t3", submission) is None
    fields = post_fields("t3", submission, web_url=web)
    assert fields["text"] == f"{submission['title']}\n\nTesting **PRAW** link submission *with markdown selftext*."
    assert fields[AUTHOR_FIELD] == "t2_6hk60" and fields["metrics"] == {
        "score": 1,
        "num_comments": 0,
        "num_crossposts": 0,
    }
    # a 2016 site-wide search: every hit parses
    (_, search), *_ = cassette_bodies("praw_cassette_TestSubreddit.test_search.json")
    for child in search["data"]["children"]:
        assert post_fields("t3", child["data"], web_url=web)["id"] == f"reddit:{child['data']['name']}"


def test_quotes_are_split_from_the_authors_own_markdown() -> None:
    assert split_quotes("> a\nlazy line\n\nmine\n\n>> nested\n\n>!spoiler!< too") == (
        "mine\n\n>!spoiler!< too",
        "a\nlazy line\n\nnested",
    )
    assert split_quotes("bara egna ord &#x200B;") == ("bara egna ord", None)
