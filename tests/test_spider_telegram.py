"""The Telegram spider crawls the replay t.me/s preview over real HTTP, each crawl in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from parsel import Selector
from pydantic import ValidationError

import crawlers
from crawlers.evidence import verify
from crawlers.spiders.telegram import parse_count, parse_page
from crawlers.state import load_state, save_state, state_path
from demo.replay import ReplayServer
from tests.replay.telegram_site import Message, TelegramSite, matches
from vaktpost.datadir import DataDir
from vaktpost.schema import Post
from vaktpost.settings import Settings, load_settings
from vaktpost.sources import TelegramSource

CHANNELS = ("vaksamma_foraldrar", "granskning_soc")
RECORDED = Path("/work/shared/fixtures/telegram")


def telegram(
    base_url: str, channels: tuple[str, ...] = CHANNELS, since_days: int = 365, **extra: Any
) -> TelegramSource:
    return TelegramSource(
        kind="telegram", base_url=base_url, channels=list(channels), delay_s=0, since_days=since_days, **extra
    )


def run_crawl(source: TelegramSource, settings: Settings, work: Path) -> tuple[crawlers.CrawlResult, list[Post]]:
    result = crawlers.crawl(source, settings, work)
    assert result.ok, (result.error, result.log_file.read_text(encoding="utf-8")[-2000:])
    return result, list(crawlers.read_posts(result.posts_file))


def expected(site: TelegramSite, channels: tuple[str, ...] = CHANNELS) -> dict[str, tuple[str, Message]]:
    """Post id -> (channel, fixture message) for every message a full crawl must yield."""
    return {
        f"telegram:{channel}/{m.id}": (channel, m)
        for channel in channels
        for m in site.visible(channel)
        if m.service is None
    }


def asked(server: ReplayServer, channel: str) -> list[str]:
    """The preview pages requested for a channel, in order (query only)."""
    prefix = f"/s/{channel}"
    targets = ["/" + request.split("/", 1)[1] for request in server.requests]
    return [t.removeprefix(prefix) for t in targets if t == prefix or t.startswith(f"{prefix}?")]


def pending(result: crawlers.CrawlResult) -> dict[str, Any]:
    channels: dict[str, Any] = load_state(result.pending_state).get("channels", {})
    return channels


# -- extraction ------------------------------------------------------------------------------------


def test_every_message_with_its_own_words_quotes_and_metrics(settings: Settings, tmp_path: Path) -> None:
    site = TelegramSite()
    with ReplayServer({"t": site}, default="t") as server:
        result, posts = run_crawl(telegram(server.url), settings, tmp_path)
        pages = {channel: asked(server, channel) for channel in CHANNELS}
    assert result.failures == {}
    # newest page first, then older pages with ?before=<smallest id>, until the channel's first message
    assert pages == {"vaksamma_foraldrar": ["", "?before=37", "?before=15"], "granskning_soc": [""]}
    wanted = expected(site)
    assert sorted(p.id for p in posts) == sorted(wanted)
    for post in posts:
        channel, message = wanted[post.id]
        assert post.url == f"{server.url}/{channel}/{message.id}"
        assert post.thread_id == f"telegram:{channel}"
        assert post.created_at == message.created_at
        assert post.author_name == site.channels[channel].title
        if message.forwarded:  # someone else's words: quoted and attributed, never the channel's text
            assert (post.text, post.quoted_text) == ("", message.text)
            assert post.forwarded_from == message.forwarded["name"]
        else:
            assert post.text == message.text and post.forwarded_from is None
            preview = message.preview
            assert post.quoted_text == (f"{preview['title']}\n\n{preview['description']}" if preview else None)
        if message.reply:
            replied = str(message.reply.get("channel", channel)).lower()
            assert post.reply_to == f"telegram:{replied}/{message.reply['id']}"
            assert "…" not in post.text  # the replied-to snippet is not the author's
        else:
            assert post.reply_to is None
        assert post.metrics.get("views") == parse_count(message.views or "")
        assert post.metrics.get("edited", 0) == int(message.edited)
        assert post.metrics.get("photos", 0) == message.photos
        assert post.evidence is not None and verify(settings.data_dir, post.evidence)
    assert "Please open Telegram" not in json.dumps([p.model_dump(mode="json") for p in posts])
    # the channel is the author: one pseudonym per channel, and the pseudonym is not the username
    authors = {channel: {p.author_id for p in posts if p.thread_id == f"telegram:{channel}"} for channel in CHANNELS}
    assert all(len(ids) == 1 for ids in authors.values()) and len(set.union(*authors.values())) == 2
    assert not any(channel in str(authors[channel]) for channel in CHANNELS)
    # album photos carry ids of their own: the watermark covers them
    assert pending(result) == {"vaksamma_foraldrar": {"max_id": 57}, "granskning_soc": {"max_id": 11}}


def test_first_crawl_stops_at_the_horizon(settings: Settings, tmp_path: Path) -> None:
    site = TelegramSite()
    with ReplayServer({"t": site}, default="t") as server:
        _, posts = run_crawl(telegram(server.url, since_days=30), settings, tmp_path)
        assert asked(server, "vaksamma_foraldrar") == ["", "?before=37"]  # page 2 already reaches past 30 days
    horizon = datetime.now(UTC) - timedelta(days=30)
    recent = {key for key, (_, m) in expected(site).items() if m.created_at >= horizon}
    assert {p.id for p in posts} == recent and len(recent) < len(expected(site))


def test_parser_on_the_replay_markup_and_the_sites_paging() -> None:
    """Without HTTP: the page parser, counters, and that the replay site pages like t.me does."""
    site = TelegramSite()
    newest = parse_page(Selector(text=site.handle("/s/Vaksamma_Foraldrar", "").body.decode()))
    assert newest is not None and newest.has_older and not newest.has_newer
    assert [m.id for m in newest.messages] == sorted(m.id for m in newest.messages)  # oldest block first
    assert sum(m.last_id - m.id + 1 for m in newest.messages) <= 20  # album photos count towards a page
    before = parse_page(Selector(text=site.handle("/s/vaksamma_foraldrar", "before=37").body.decode()))
    after = parse_page(Selector(text=site.handle("/s/vaksamma_foraldrar", "after=50").body.decode()))
    assert before is not None and max(m.id for m in before.messages) < 37 and before.has_newer
    assert after is not None and min(m.id for m in after.messages) == 51
    start = parse_page(Selector(text=site.handle("/s/vaksamma_foraldrar", "before=1").body.decode()))
    assert start is not None and start.messages == [] and not start.has_older  # "No posts found"
    assert site.handle("/s/finns_inte_alls", "").status == 302
    assert dict(site.handle("/s/stangd_kanal", "").headers)["Location"] == "https://t.me/Stangd_Kanal"
    assert parse_page(Selector(text="<html><body><p>Just a moment...</p></body></html>")) is None
    assert [parse_count(text) for text in ("987", "1.2K", "4.85K", "12,4K", "1M", "", "many")] == [
        987,
        1200,
        4850,
        12400,
        1_000_000,
        None,
        None,
    ]


def test_channel_names_are_normalised_and_checked() -> None:
    source = TelegramSource(
        kind="telegram", channels=["@Kanal_Ett", "https://t.me/s/kanal2x?before=9", "t.me/tredje_kanal", "s/fjarde"]
    )
    assert source.channels == ["Kanal_Ett", "kanal2x", "tredje_kanal", "fjarde"]
    with pytest.raises(ValidationError):
        TelegramSource(kind="telegram", channels=["inte en kanal"])


@pytest.mark.skipif(not RECORDED.is_dir(), reason="no recorded t.me pages in /work/shared/fixtures/telegram")
def test_parser_on_recorded_pages() -> None:
    recorded = sorted(RECORDED.glob("*.htm*"))
    if not recorded:
        pytest.skip("no recorded .html pages in /work/shared/fixtures/telegram")
    for path in recorded:
        page = parse_page(Selector(text=path.read_text(encoding="utf-8", errors="replace")))
        assert page is not None, path
        for message in page.messages:
            assert message.id > 0 and message.last_id >= message.id, path
            assert message.service or message.created_at is not None, (path, message.id)


# -- incremental -----------------------------------------------------------------------------------


def test_later_crawls_read_forward_from_the_newest_stored_id(settings: Settings, tmp_path: Path) -> None:
    older = TelegramSite(hide_days=2)  # the channels as they were two days ago
    with ReplayServer({"t": older}, default="t") as server:
        first, before = run_crawl(telegram(server.url), settings, tmp_path / "1")
    assert crawlers.commit_state(first, settings)
    site = TelegramSite()
    with ReplayServer({"t": site}, default="t") as server:
        second, grown = run_crawl(telegram(server.url), settings, tmp_path / "2")
        assert asked(server, "vaksamma_foraldrar") == ["?after=54"]
        assert asked(server, "granskning_soc") == ["?after=9"]
        assert crawlers.commit_state(second, settings)
        _, third = run_crawl(telegram(server.url), settings, tmp_path / "3")
        assert asked(server, "vaksamma_foraldrar")[-1] == "?after=57"
    new = set(expected(site)) - set(expected(older))
    assert new == {f"telegram:vaksamma_foraldrar/{n}" for n in (55, 56, 57)} | {
        f"telegram:granskning_soc/{n}" for n in (10, 11)
    }
    assert {p.id for p in grown} == new
    assert {p.id for p in before} == set(expected(older))
    assert third == []


def test_a_crawl_whose_state_was_never_committed_is_fetched_again(settings: Settings, tmp_path: Path) -> None:
    with ReplayServer({"t": TelegramSite()}, default="t") as server:
        _, first = run_crawl(telegram(server.url), settings, tmp_path / "1")
        _, again = run_crawl(telegram(server.url), settings, tmp_path / "2")  # the first run died unstored
    assert first and {p.id for p in again} == {p.id for p in first}


def test_search_terms_read_only_matching_messages(settings: Settings, tmp_path: Path) -> None:
    site = TelegramSite()
    terms = ["lvu", "#stoppasocialtjänsten"]
    with ReplayServer({"t": site}, default="t") as server:
        result, posts = run_crawl(telegram(server.url, search_terms=terms), settings, tmp_path / "1")
        assert "?q=lvu" in asked(server, "vaksamma_foraldrar")
        assert crawlers.commit_state(result, settings)
        _, again = run_crawl(telegram(server.url, search_terms=terms), settings, tmp_path / "2")
    hits = {key for key, (_, m) in expected(site).items() if any(matches(m, term) for term in terms)}
    assert {p.id for p in posts} == hits and "telegram:vaksamma_foraldrar/53" in hits
    assert result.failures == {} and again == []


# -- faults ----------------------------------------------------------------------------------------


def crawl_settings(data_dir: Path, monkeypatch: pytest.MonkeyPatch, **crawl: str) -> Settings:
    """Settings with ``crawl.*`` overrides, set the way an operator would: in the environment."""
    monkeypatch.setenv("VAKTPOST_DATA_DIR", str(data_dir))
    for name, value in crawl.items():
        monkeypatch.setenv(f"VAKTPOST_CRAWL__{name.upper()}", value)
    return load_settings()


def test_429_waits_as_retry_after_asks_and_500_is_retried(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = crawl_settings(data_dir, monkeypatch, retry_backoff_s="0.1")
    site = TelegramSite(
        faults={
            "/s/granskning_soc": [(429, {"Retry-After": "1"})],
            "/s/vaksamma_foraldrar?before=37": [(500, {}), (503, {})],
        }
    )
    with ReplayServer({"t": site}, default="t") as server:
        result, posts = run_crawl(telegram(server.url), settings, tmp_path)
    limited = [at for target, at in site.seen if target == "/s/granskning_soc"]
    assert len(limited) == 2 and limited[1] - limited[0] >= 1.0
    assert [target for target, _ in site.seen].count("/s/vaksamma_foraldrar?before=37") == 3
    assert result.failures == {}
    assert {p.id for p in posts} == set(expected(site))


def test_a_page_that_times_out_is_counted_and_never_skipped(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = crawl_settings(data_dir, monkeypatch, download_timeout_s="1", retries="0")
    slow = TelegramSite(slow=frozenset({"/s/vaksamma_foraldrar?before=37"}), slow_s=2.5)
    with ReplayServer({"t": slow}, default="t") as server:
        first, partial = run_crawl(telegram(server.url), settings, tmp_path / "1")
    assert first.failures == {"timeout": 1}
    assert partial and all(int(p.native_id.rsplit("/", 1)[1]) >= 37 for p in partial if "vaksamma" in p.id)
    # the walk back did not reach its end: no watermark for that channel, so nothing behind it is skipped
    assert pending(first) == {"granskning_soc": {"max_id": 11}}
    assert crawlers.commit_state(first, settings)
    site = TelegramSite()
    with ReplayServer({"t": site}, default="t") as server:
        _, rest = run_crawl(telegram(server.url), settings, tmp_path / "2")
    assert {p.id for p in rest} == set(expected(site, ("vaksamma_foraldrar",)))


def test_unavailable_channels_walls_and_garbage_are_counted_never_stored(settings: Settings, tmp_path: Path) -> None:
    walls = {
        "login_kanal": "login",
        "utmaning_kanal": "challenge",
        "blockerad_kanal": "denied",
        "skrap_kanal": "garbage",
        "utan_historik": "no_history",
    }
    # a channel that was read before and now redirects keeps its watermark: a redirect is not "no posts"
    save_state(state_path(DataDir(settings.data_dir).state, "telegram"), {"channels": {"stangd_kanal": {"max_id": 1}}})
    channels = ("finns_inte_alls", "stangd_kanal", *walls)
    with ReplayServer({"t": TelegramSite(walls=walls)}, default="t") as server:
        result, posts = run_crawl(telegram(server.url, channels=channels), settings, tmp_path)
        assert asked(server, "stangd_kanal") == ["?after=1"]
    assert posts == []
    assert result.failures == {
        "channel_unavailable": 2,
        "login_wall": 1,
        "challenge_page": 1,
        "access_denied": 1,
        "unexpected_markup": 2,
    }
    assert pending(result) == {"stangd_kanal": {"max_id": 1}}


def test_a_broken_page_in_the_middle_of_a_walk_never_ends_it(settings: Settings, tmp_path: Path) -> None:
    probe = TelegramSite(page_size=5)
    smallest = {}
    for channel in CHANNELS:
        newest = parse_page(Selector(text=probe.handle(f"/s/{channel}", "").body.decode()))
        assert newest is not None
        smallest[channel] = newest.messages[0].id
    walls = {
        f"/s/vaksamma_foraldrar?before={smallest['vaksamma_foraldrar']}": "empty_history",
        f"/s/granskning_soc?before={smallest['granskning_soc']}": "stuck",  # answers with the newest page again
    }
    with ReplayServer({"t": TelegramSite(page_size=5, walls=walls)}, default="t") as server:
        result, posts = run_crawl(telegram(server.url), settings, tmp_path)
    assert result.failures == {"unexpected_markup": 1, "pagination_stuck": 1}
    assert posts and all(int(p.native_id.rsplit("/", 1)[1]) >= smallest[p.native_id.split("/")[0]] for p in posts)
    assert pending(result) == {}  # neither walk reached its end: the next crawl walks again


def test_robots_txt_is_obeyed(settings: Settings, tmp_path: Path) -> None:
    site = TelegramSite(disallow=("/s/granskning_soc",))
    with ReplayServer({"t": site}, default="t") as server:
        _, posts = run_crawl(telegram(server.url), settings, tmp_path)
        assert asked(server, "granskning_soc") == []
    assert {p.id for p in posts} == set(expected(site, ("vaksamma_foraldrar",)))


# -- command line ----------------------------------------------------------------------------------


def test_crawl_command_writes_json_lines_and_resumes(data_dir: Path, tmp_path: Path) -> None:
    site = TelegramSite()
    with ReplayServer({"t": site}, default="t") as server:
        command = [
            sys.executable,
            "-m",
            "vaktpost.cli",
            "crawl",
            "telegram",
            "--base-url",
            server.url,
            "--start",
            "/s/granskning_soc",
        ]
        env = {
            "VAKTPOST_DATA_DIR": str(data_dir),
            "VAKTPOST_SOURCES": json.dumps([{"kind": "telegram", "delay_s": 0, "since_days": 365}]),
            "PATH": "",
        }
        first = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        lines = [Post.model_validate_json(line) for line in first.stdout.splitlines()]
        assert {p.id for p in lines} == set(expected(site, ("granskning_soc",)))
        second = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
        assert second.returncode == 0, second.stderr
        assert second.stdout == "" and "0 posts" in second.stderr
        assert asked(server, "granskning_soc") == ["", "?after=11"]
