"""The spiders crawl the demo sites over real HTTP, each crawl in its own process, as in production."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import crawlers
from crawlers.evidence import verify
from demo import serve_demo
from demo.corpus import Corpus
from demo.flashback_site import FlashbackSite, Page
from demo.mastodon_site import MastodonSite
from demo.replay import ReplayServer
from vaktpost.schema import Post
from vaktpost.settings import FlashbackSource, MastodonSource, Settings


def run_crawl(
    source: FlashbackSource | MastodonSource, settings: Settings, work: Path, proxy: str | None = None
) -> tuple[crawlers.CrawlResult, list[Post]]:
    result = crawlers.crawl(source, settings, work, proxy=proxy)
    assert result.ok, (result.error, result.log_file.read_text(encoding="utf-8")[-2000:])
    return result, list(crawlers.read_posts(result.posts_file))


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.load()


def forum_source(base_url: str, forums: list[int]) -> FlashbackSource:
    return FlashbackSource(kind="flashback", base_url=base_url, forums=forums, delay_s=0, since_days=60)


def test_flashback_every_post_with_quotes_apart_and_evidence(settings: Settings, tmp_path: Path) -> None:
    with serve_demo() as site:
        flashback = next(s for s in site.sources if s.kind == "flashback")
        result, posts = run_crawl(flashback, settings, tmp_path / "w", site.proxy)
        expected = {post.id: (thread, post) for _, thread, post in site.corpus.forum_posts()}
    assert result.failures == {}
    assert sorted(p.id for p in posts) == sorted(f"flashback:{i}" for i in expected)
    for post in posts:
        thread, original = expected[int(post.native_id)]
        assert post.text == original.text  # including the Windows-1252 forum, å/ä/ö intact
        assert post.quoted_text == (original.quote.text if original.quote else None)
        assert post.created_at == original.created_at
        assert post.title == thread.title and post.thread_id == f"flashback:t{thread.id}"
        assert (post.author_id is None) == (original.user_id is None)
        assert post.author_name == original.author
        assert post.evidence is not None and verify(settings.data_dir, post.evidence)
    # the same forum user gets the same pseudonym, and the pseudonym is not their user id
    by_user: dict[int, set[str | None]] = {}
    for post in posts:
        original = expected[int(post.native_id)][1]
        if original.user_id is not None:
            by_user.setdefault(original.user_id, set()).add(post.author_id)
            assert str(original.user_id) not in (post.author_id or "")
    assert all(len(ids) == 1 for ids in by_user.values())


def test_mastodon_statuses_with_reblogs_attributed_to_their_authors(settings: Settings, tmp_path: Path) -> None:
    with serve_demo() as site:
        mastodon = next(s for s in site.sources if s.kind == "mastodon")
        _, posts = run_crawl(mastodon, settings, tmp_path / "w", site.proxy)
        own = [s for s in site.corpus.statuses if not s.reblog_of]
    by_id = {p.id: p for p in posts}
    assert len(posts) == len(by_id) == len(own)
    for status in own:
        post = by_id[f"mastodon:social.vaktpost-demo.se/{status.id}"]
        text = f"{status.spoiler_text}\n\n{status.text}".strip() if status.spoiler_text else status.text.strip()
        assert post.text == re.sub(r"(@\w+)@[\w.-]+\w", r"\1", text)  # Mastodon shows remote mentions as @user
        assert post.lang == status.language
        if status.in_reply_to_id:
            assert post.reply_to == f"mastodon:social.vaktpost-demo.se/{status.in_reply_to_id}"
        assert "<" not in post.text or "<" in status.text


def test_second_crawl_fetches_only_what_is_new(settings: Settings, tmp_path: Path) -> None:
    with serve_demo(hide_days=1) as site:  # the site as it was two days ago
        first = {s.name: run_crawl(s, settings, tmp_path / "1", site.proxy) for s in site.sources}
        for result, _ in first.values():
            assert crawlers.commit_state(result, settings)
        hidden_posts = sum(1 for _, _, p in Corpus.load().forum_posts() if p.days_ago <= 1)
    with serve_demo() as site:  # today: the newest posts have appeared
        second = {s.name: run_crawl(s, settings, tmp_path / "2", site.proxy) for s in site.sources}
        for result, _ in second.values():
            crawlers.commit_state(result, settings)
        third = {s.name: run_crawl(s, settings, tmp_path / "3", site.proxy) for s in site.sources}
    new_forum = second["flashback"][1]
    assert new_forum and len(new_forum) == hidden_posts
    assert not {p.id for p in new_forum} & {p.id for p in first["flashback"][1]}
    new_toots = second["mastodon"][1]
    assert new_toots and not {p.id for p in new_toots} & {p.id for p in first["mastodon"][1]}
    assert all(posts == [] for _, posts in third.values())


def test_a_crawl_whose_state_was_never_committed_is_fetched_again(settings: Settings, tmp_path: Path) -> None:
    with serve_demo() as site:
        flashback = next(s for s in site.sources if s.kind == "flashback")
        _, first = run_crawl(flashback, settings, tmp_path / "1", site.proxy)
        # the run died before the posts were stored: nothing was committed, nothing may be lost
        _, again = run_crawl(flashback, settings, tmp_path / "2", site.proxy)
    assert {p.id for p in again} == {p.id for p in first}


class Walls:
    """A site that answers like a forum behind a login or a challenge, or with broken markup."""

    def handle(self, path: str, query: str, host: str = "") -> Page:
        if path == "/robots.txt":
            return Page(200, b"User-agent: *\nDisallow: /private\n", "text/plain")
        pages = {
            "/f1": b"<html><body><form>Du m\xc3\xa5ste vara inloggad f\xc3\xb6r att se detta</form></body></html>",
            "/f2": b"<html><title>Just a moment...</title><body>cf-challenge</body></html>",
            "/f3": b"<html><body><div>\xff\xfe garbage <<<</div></body></html>",
        }
        if path in pages:
            return Page(200, pages[path], "text/html; charset=utf-8")
        return Page(404, b"not found", "text/html")


def test_walls_and_garbage_are_counted_never_stored(settings: Settings, tmp_path: Path) -> None:
    with ReplayServer({"walls": Walls()}, default="walls") as server:
        result, posts = run_crawl(forum_source(server.url, [1, 2, 3, 4]), settings, tmp_path)
    assert posts == []
    assert result.failures == {"login_wall": 1, "challenge_page": 1, "unexpected_markup": 1, "http_404": 1}


def test_robots_txt_is_obeyed(settings: Settings, tmp_path: Path) -> None:
    # several requests wait for robots.txt together: every one of them must get its rules
    source = FlashbackSource(kind="flashback", base_url="http://127.0.0.1", threads=[1, 2, 3, 4, 5], delay_s=0)
    with ReplayServer({"walls": Walls()}, default="walls") as server:
        result, posts = run_crawl(source.model_copy(update={"base_url": f"{server.url}/private"}), settings, tmp_path)
        assert not any(r.startswith("127.0.0.1/private") for r in server.requests)
    assert posts == [] and result.pages == 1  # only robots.txt was fetched
    assert result.failures == {"robots_disallowed": 5}


def test_mastodon_refusals_and_malformed_json(settings: Settings, tmp_path: Path, corpus: Corpus) -> None:
    class Refusing(MastodonSite):
        def handle(self, path: str, query: str, host: str = "") -> Page:
            if path.endswith("/closed"):
                return Page(401, b'{"error":"The access token is invalid"}', "application/json")
            if path.endswith("/broken"):
                return Page(200, b'[{"id": "1", "content": "<p>unterminated', "application/json")
            return super().handle(path, query, host)

    source = MastodonSource(
        kind="mastodon",
        base_url="http://127.0.0.1",
        hashtags=["closed", "broken", "nosuchtag", "soc"],
        delay_s=0,
        since_days=60,
    )
    with ReplayServer({"m": Refusing(corpus)}, default="m") as server:
        result, posts = run_crawl(source.model_copy(update={"base_url": server.url}), settings, tmp_path)
    assert result.failures == {"timeline_refused": 1, "malformed_json": 1, "http_404": 1}
    soc = {s.reblog_of or s.id for s in corpus.statuses if "soc" in s.tags}
    assert {p.native_id.rsplit("/", 1)[1] for p in posts} == soc


@pytest.fixture
def direct_server(corpus: Corpus) -> Iterator[ReplayServer]:
    with ReplayServer({"f": FlashbackSite(corpus)}, default="f") as server:
        yield server


def test_crawl_command_writes_json_lines_and_resumes(
    direct_server: ReplayServer, data_dir: Path, tmp_path: Path
) -> None:
    command = [
        sys.executable,
        "-m",
        "vaktpost.cli",
        "crawl",
        "flashback",
        "--base-url",
        direct_server.url,
        "--start",
        "/t3525802",
    ]
    env = {
        "VAKTPOST_DATA_DIR": str(data_dir),
        "VAKTPOST_SOURCES": json.dumps([{"kind": "flashback", "delay_s": 0, "since_days": 60}]),
        "PATH": "",
    }
    first = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    lines = [Post.model_validate_json(line) for line in first.stdout.splitlines()]
    assert len(lines) == 14 and all(p.thread_id == "flashback:t3525802" for p in lines)
    out = tmp_path / "again.jsonl"
    second = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, env=env, check=False, cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr
    assert out.read_text(encoding="utf-8") == ""
    assert "0 posts" in second.stderr


def test_tampered_evidence_is_detected(settings: Settings, tmp_path: Path, direct_server: ReplayServer) -> None:
    _, posts = run_crawl(forum_source(direct_server.url, [48]), settings, tmp_path)
    evidence = posts[0].evidence
    assert evidence is not None and verify(settings.data_dir, evidence)
    warc = settings.data_dir / evidence.warc_file
    data = bytearray(warc.read_bytes())
    data[evidence.offset + 200] ^= 0xFF
    warc.write_bytes(bytes(data))
    assert not verify(settings.data_dir, evidence)


class Flaky:
    """Wraps a site: answers some paths with errors first, or slowly, and records when each request came."""

    def __init__(
        self,
        site: FlashbackSite,
        faults: dict[str, list[tuple[int, dict[str, str]]]],
        slow: frozenset[str] = frozenset(),
    ) -> None:
        self.site = site
        self.faults = faults
        self.slow = slow
        self.seen: list[tuple[str, float]] = []

    def handle(self, path: str, query: str, host: str = "") -> Page:
        self.seen.append((path, time.monotonic()))
        if path in self.slow:
            time.sleep(3)
        if self.faults.get(path):
            status, headers = self.faults[path].pop(0)
            return Page(status, b"busy", "text/plain", tuple(headers.items()))
        return self.site.handle(path, query, host)


def test_429_waits_as_long_as_retry_after_and_500_is_retried(
    settings: Settings, tmp_path: Path, corpus: Corpus
) -> None:
    flaky = Flaky(
        FlashbackSite(corpus),
        {"/f48": [(429, {"Retry-After": "2"})], "/t3533915": [(500, {}), (503, {})]},
    )
    with ReplayServer({"f": flaky}, default="f") as server:
        result, posts = run_crawl(forum_source(server.url, [48]), settings, tmp_path)
    listing = [at for path, at in flaky.seen if path == "/f48"]
    assert len(listing) == 2 and listing[1] - listing[0] >= 2.0
    thread = [at for path, at in flaky.seen if path == "/t3533915"]  # 500, 503, then the page
    assert len(thread) == 3
    assert thread[1] - thread[0] >= 2.0 and thread[2] - thread[1] >= 4.0  # backoff doubles
    assert result.failures == {}
    assert len(posts) == sum(1 for f, _, _ in corpus.forum_posts() if f.id == 48)


def test_unreasonable_retry_after_and_timeouts_are_reported(
    data_dir: Path, tmp_path: Path, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAKTPOST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VAKTPOST_CRAWL__DOWNLOAD_TIMEOUT_S", "1")
    monkeypatch.setenv("VAKTPOST_CRAWL__RETRIES", "1")
    from vaktpost.settings import load_settings

    settings = load_settings()
    flaky = Flaky(FlashbackSite(corpus), {"/f112": [(429, {"Retry-After": "86400"})]}, slow=frozenset({"/f350"}))
    with ReplayServer({"f": flaky}, default="f") as server:
        result, posts = run_crawl(forum_source(server.url, [112, 350]), settings, tmp_path)
    assert posts == []
    assert result.failures == {"http_429": 1, "timeout": 1}


def test_flashback_keyword_search_finds_threads_outside_watched_forums(
    settings: Settings, tmp_path: Path, corpus: Corpus
) -> None:
    site = FlashbackSite(corpus, robots="User-agent: *\nDisallow: /login.php\n")
    source = FlashbackSource(
        kind="flashback", base_url="http://x", search_terms=["barnrövare"], delay_s=0, since_days=60
    )
    hits = [(t, p) for _, t, p in corpus.forum_posts() if "barnrövare" in p.text.lower()]
    assert hits, "the demo corpus has posts with the search term"
    with ReplayServer({"f": site}, default="f") as server:
        source = source.model_copy(update={"base_url": server.url})
        result, posts = run_crawl(source, settings, tmp_path / "1")
        crawlers.commit_state(result, settings)
        _, again = run_crawl(source, settings, tmp_path / "2")
    found = {p.id for p in posts}
    assert {f"flashback:{post.id}" for _, post in hits} <= found
    assert {p.thread_id for p in posts} == {f"flashback:t{thread.id}" for thread, _ in hits}
    assert again == []


def test_flashback_search_obeys_robots_txt(settings: Settings, tmp_path: Path, corpus: Corpus) -> None:
    source = FlashbackSource(kind="flashback", base_url="http://x", search_terms=["soc"], delay_s=0)
    with ReplayServer({"f": FlashbackSite(corpus)}, default="f") as server:  # the demo's robots.txt forbids /sok/
        _, posts = run_crawl(source.model_copy(update={"base_url": server.url}), settings, tmp_path)
        assert not any("/sok/" in request for request in server.requests)
    assert posts == []


def test_user_agent_names_the_contact_and_the_dev_cache_spares_the_site(
    data_dir: Path, tmp_path: Path, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAKTPOST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VAKTPOST_CRAWL__CONTACT_URL", "https://kommun.example.se/vaktpost")
    monkeypatch.setenv("VAKTPOST_CRAWL__HTTP_CACHE", "true")
    from vaktpost.settings import load_settings

    settings = load_settings()
    with ReplayServer({"f": FlashbackSite(corpus)}, default="f") as server:
        source = forum_source(server.url, [48])
        _, first = run_crawl(source, settings, tmp_path / "1")
        asked = len(server.requests)
        _, second = run_crawl(source, settings, tmp_path / "2")  # state not committed: same pages again
        assert len(server.requests) == asked, "the second crawl was answered from the development cache"
        assert all(
            ua.startswith("Vaktpost/") and "(+https://kommun.example.se/vaktpost)" in ua for ua in server.user_agents
        )
    assert {p.id for p in second} == {p.id for p in first} and first


def test_a_killed_crawl_keeps_what_it_collected_and_the_next_run_completes_it(
    data_dir: Path, tmp_path: Path, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index.sqlite import SQLiteStore
    from vaktpost.schema import LABELS, AnalysedPost, Verdict
    from vaktpost.settings import load_settings

    monkeypatch.setenv("VAKTPOST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VAKTPOST_CRAWL__RUN_TIMEOUT_S", "4")
    slow_pages = frozenset({"/t3533915p2", "/t3537851p2"})
    settings = load_settings()
    store = SQLiteStore(tmp_path / "store.db")

    def deliver(posts: list[Post]) -> None:
        store.upsert(
            [AnalysedPost(post=p, verdict=Verdict(post_id=p.id, scores=dict.fromkeys(LABELS, 0.0))) for p in posts]
        )

    with ReplayServer({"f": Flaky(FlashbackSite(corpus), {}, slow=slow_pages)}, default="f") as server:
        cut = crawlers.crawl(forum_source(server.url, [48]), settings, tmp_path / "1")
        partial = list(crawlers.read_posts(cut.posts_file))
    assert not cut.ok and "stopped after 4 s" in (cut.error or "")
    assert not crawlers.commit_state(cut, settings)
    deliver(partial)
    monkeypatch.setenv("VAKTPOST_CRAWL__RUN_TIMEOUT_S", "600")
    settings = load_settings()
    with ReplayServer({"f": FlashbackSite(corpus)}, default="f") as server:
        done, rest = run_crawl(forum_source(server.url, [48]), settings, tmp_path / "2")
        assert crawlers.commit_state(done, settings)
    deliver(rest)
    expected = sum(1 for f, _, _ in corpus.forum_posts() if f.id == 48)
    assert 0 < len(partial) < expected
    assert store.summary()["posts"] == expected and store.summary()["duplicates"] == 0
    store.close()


def test_long_subforum_listings_are_followed_page_by_page(settings: Settings, tmp_path: Path, corpus: Corpus) -> None:
    with ReplayServer({"f": FlashbackSite(corpus, threads_per_page=2)}, default="f") as server:
        result, posts = run_crawl(forum_source(server.url, [350]), settings, tmp_path)
        listings = [r for r in server.requests if "/f350" in r]
    assert len(listings) >= 3
    assert len(posts) == sum(1 for f, _, _ in corpus.forum_posts() if f.id == 350)
    assert result.failures == {}
