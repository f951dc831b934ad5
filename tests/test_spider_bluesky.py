"""The Bluesky spider against a replay AppView over real HTTP, each crawl in its own process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

import crawlers
from crawlers.evidence import verify
from crawlers.spiders.bluesky import MalformedViewError, Skipped, post_fields
from demo.replay import ReplayServer, Request
from tests.replay.bluesky_site import (
    APP_PASSWORD,
    HANDLE,
    BlueskySite,
    FixturePost,
    block_page,
    challenge_page,
    garbage,
    rate_limited,
    server_error,
    slow,
    wrong_shape,
)
from vaktpost.schema import Post
from vaktpost.settings import Settings, load_settings
from vaktpost.sources.bluesky import BlueskySource

NOW = datetime.now(UTC).replace(microsecond=0)
"""Every site in this module shares one clock, so a grown site has the same timestamps as before."""

SHARED = Path("/work/shared/fixtures/bluesky")
ACTORS = [
    "granskaren.bsky.social",
    "mamma-i-orebro.bsky.social",
    "bladet.vaktpost-demo.se",
    "tyst-konto.bsky.social",  # carries !no-unauthenticated
    "did:plc:p5ws2fmk7cbl3tvg6yxdr4nu",  # a DID works as well as a handle
]
FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
SESSION = "/xrpc/com.atproto.server.createSession"


def source(url: str, **update: Any) -> BlueskySource:
    settings: dict[str, Any] = {
        "kind": "bluesky",
        "base_url": url,
        "actors": ACTORS,
        "search_terms": ["socialtjänsten", "barn"],
        "page_size": 4,
        "delay_s": 0,
    }
    return BlueskySource(**(settings | update))


def run_crawl(
    site: BlueskySite, settings: Settings, work: Path, **update: Any
) -> tuple[crawlers.CrawlResult, list[Post]]:
    with ReplayServer({"bsky": site}, default="bsky") as server:
        result = crawlers.crawl(source(server.url, **update), settings, work)
    assert result.ok, (result.error, result.log_file.read_text(encoding="utf-8")[-3000:])
    return result, list(crawlers.read_posts(result.posts_file))


@pytest.fixture
def app_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAKTPOST_BLUESKY_HANDLE", HANDLE)
    monkeypatch.setenv("VAKTPOST_BLUESKY_APP_PASSWORD", APP_PASSWORD)


def post_id(post: FixturePost) -> str:
    return f"bluesky:{post.author.did}/{post.rkey}"


def collectable(site: BlueskySite, newer_than: datetime | None = None) -> dict[str, FixturePost]:
    """What a crawl may keep: visible posts of authors who did not opt out, inside the 30-day horizon."""
    floor = newer_than or NOW - timedelta(days=30)
    return {post_id(p): p for p in site.visible.values() if not p.author.opted_out and p.indexed_at > floor}


def requests_to(site: BlueskySite, path: str, **params: str) -> list[Request]:
    return [r for r in site.log if r.path == path and all(parse_qs(r.query).get(k) == [v] for k, v in params.items())]


# -- a full crawl ------------------------------------------------------------------------------------


def test_every_post_with_quotes_replies_and_reposts_attributed(
    settings: Settings, tmp_path: Path, app_password: None
) -> None:
    site = BlueskySite(NOW)
    result, posts = run_crawl(site, settings, tmp_path)
    assert result.failures == {}
    expected = collectable(site)
    by_id = {p.id: p for p in posts}
    assert len(by_id) == len(posts)  # the repost of m3 and m3 itself: one post
    assert set(by_id) == set(expected)
    for pid, original in expected.items():
        post = by_id[pid]
        author = original.author
        assert post.text == original.text  # whole, å/ä/ö and emoji intact, never cut at facet offsets
        assert post.url == f"https://bsky.app/profile/{author.handle}/post/{original.rkey}"
        assert post.author_name == (author.display_name or author.handle)
        assert post.lang == (original.langs[0] if original.langs else None)
        future = original.created_at > original.indexed_at + timedelta(days=1)
        assert post.created_at == (original.indexed_at if future else original.created_at)
        quoted = site.posts[original.quote] if original.quote else None
        visible_quote = quoted is not None and quoted.key in site.visible and not quoted.author.opted_out
        assert post.quoted_text == (quoted.text if visible_quote and quoted else None)
        parent = site.posts[original.reply_to] if original.reply_to else None
        assert post.reply_to == (post_id(parent) if parent else None)
        assert post.thread_id == post_id(site.root_of(original))
        assert post.metrics == {
            "likes": original.likes,
            "reposts": site.count_reposts(original),
            "replies": site.count_replies(original),
            "quotes": site.count_quotes(original),
        }
        assert post.evidence is not None and verify(settings.data_dir, post.evidence)
    # the cases the fixture was written for, by name
    text = {p.key: by_id[post_id(p)] for p in expected.values()}
    assert text["g8"].quoted_text == site.posts["m3"].text  # quote with media
    assert text["g9"].quoted_text is None  # quoted post was deleted
    assert text["g11"].quoted_text is None  # quoted author opted out
    assert text["m2"].reply_to == post_id(site.posts["g5"]) and text["m2"].thread_id == post_id(site.posts["m1"])
    assert text["g10"].created_at == site.posts["g10"].indexed_at  # createdAt 30 days in the future
    assert text["m6"].created_at == site.posts["m6"].created_at  # backdated three hours: kept as the client said
    deleted = site.posts["x1"]
    assert post_id(deleted) not in by_id and text["m4"].reply_to == post_id(deleted)
    assert not any(p.author.opted_out for p in expected.values())
    assert not {post_id(p) for p in site.posts.values() if p.key.startswith("g_old")} & set(by_id)
    # one pseudonym per author, and it is not the DID
    pseudonyms: dict[str, set[str | None]] = {}
    for pid, original in expected.items():
        pseudonyms.setdefault(original.author.did, set()).add(by_id[pid].author_id)
        assert original.author.did not in (by_id[pid].author_id or "")
    assert all(len(ids) == 1 and None not in ids for ids in pseudonyms.values())
    # paging: granskaren's 20 feed items at 4 a page; the fourth page reaches the horizon, the fifth is never asked
    granskaren = requests_to(site, FEED, actor="granskaren.bsky.social")
    assert len(granskaren) == 4
    assert ["cursor" in parse_qs(r.query) for r in granskaren] == [False, True, True, True]
    assert all(parse_qs(r.query)["filter"] == ["posts_with_replies"] for r in granskaren)
    # one session for the crawl; every search carries its token and the documented parameters
    assert len(requests_to(site, SESSION)) == 1 and site.sessions == 1
    searches = requests_to(site, SEARCH)
    assert {parse_qs(r.query)["q"][0] for r in searches} == {"socialtjänsten", "barn"}
    assert len(requests_to(site, SEARCH, q="barn")) == 2  # six hits at four a page
    for request in searches:
        query = parse_qs(request.query)
        assert request.headers["authorization"].startswith("Bearer ")
        assert query["sort"] == ["latest"] and query["lang"] == ["sv"] and query["limit"] == ["4"]
        assert datetime.fromisoformat(query["since"][0]) <= NOW - timedelta(days=29)  # the horizon
    log = result.log_file.read_text(encoding="utf-8")
    assert APP_PASSWORD not in log
    assert result.notes["opted_out"] == 3  # t1, t2 (also reposted, also a search hit) and t3: once each
    if SHARED.is_dir():  # every request the spider made is one the lexicons allow
        lexicons = Lexicons(SHARED)
        for request in [*requests_to(site, FEED), *searches]:
            nsid = request.path.removeprefix("/xrpc/")
            assert lexicons.params(nsid, request.query) == [], request.query


def test_search_finds_what_the_followed_feeds_do_not(settings: Settings, tmp_path: Path, app_password: None) -> None:
    site = BlueskySite(NOW)
    _, posts = run_crawl(site, settings, tmp_path, actors=[], search_terms=["barn"])
    found = {p.id for p in posts}
    barn = {
        post_id(p)
        for p in collectable(site).values()
        if "barn" in re.findall(r"\w+", p.text.lower()) and p.langs and "sv" in p.langs
    }
    assert found == barn and len(found) == 6


def test_without_an_app_password_search_is_skipped_and_a_wrong_one_is_counted(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = BlueskySite(NOW)
    result, posts = run_crawl(site, settings, tmp_path / "1", actors=["bladet.vaktpost-demo.se"])
    assert result.failures == {}
    assert len(posts) == 4
    assert not requests_to(site, SESSION) and not requests_to(site, SEARCH)
    assert "post search skipped" in result.log_file.read_text(encoding="utf-8")
    monkeypatch.setenv("VAKTPOST_BLUESKY_HANDLE", HANDLE)
    monkeypatch.setenv("VAKTPOST_BLUESKY_APP_PASSWORD", "fel-losenord")
    result, posts = run_crawl(BlueskySite(NOW), settings, tmp_path / "2", actors=["bladet.vaktpost-demo.se"])
    assert result.failures == {"login_failed": 1}
    assert len(posts) == 4
    assert "fel-losenord" not in result.log_file.read_text(encoding="utf-8")


# -- incremental crawls --------------------------------------------------------------------------------


def test_second_crawl_fetches_only_what_is_new(settings: Settings, tmp_path: Path, app_password: None) -> None:
    earlier = BlueskySite(NOW, hide_within_hours=24)  # the site as it was a day ago
    first, first_posts = run_crawl(earlier, settings, tmp_path / "1")
    watermarks = json.loads(first.pending_state.read_text(encoding="utf-8"))["searches"]
    assert crawlers.commit_state(first, settings)
    assert {p.id for p in first_posts} == set(collectable(earlier))
    today = BlueskySite(NOW)
    second, new = run_crawl(today, settings, tmp_path / "2")
    assert crawlers.commit_state(second, settings)
    fresh = set(collectable(today, newer_than=NOW - timedelta(hours=24)))
    # a repost made today brings its older original again (the store keeps one copy per id)
    reposted_today = {
        post_id(r.post)
        for r in today.visible_reposts
        if r.indexed_at > NOW - timedelta(hours=24) and not r.post.author.opted_out
    }
    assert {p.id for p in new} == fresh | reposted_today
    assert not fresh & {p.id for p in first_posts}
    # searches ask from the watermark on (the newest hit's indexedAt), not from the horizon again
    since = {parse_qs(r.query)["q"][0]: parse_qs(r.query)["since"][0] for r in requests_to(today, SEARCH)}
    assert since == watermarks and len(since) == 2
    third, nothing = run_crawl(BlueskySite(NOW), settings, tmp_path / "3")
    assert nothing == [] and third.failures == {}


def test_a_crawl_whose_state_was_never_committed_is_fetched_again(settings: Settings, tmp_path: Path) -> None:
    site = BlueskySite(NOW)
    _, first = run_crawl(site, settings, tmp_path / "1", actors=ACTORS[:2])
    # the run died before its posts were stored: nothing was committed, nothing may be lost
    _, again = run_crawl(site, settings, tmp_path / "2", actors=ACTORS[:2])
    assert first and {p.id for p in again} == {p.id for p in first}


# -- faults ----------------------------------------------------------------------------------------------


def test_429_waits_for_retry_after_and_500_is_retried(settings: Settings, tmp_path: Path, app_password: None) -> None:
    site = BlueskySite(
        NOW,
        faults={
            "feed:mamma-i-orebro.bsky.social": [rate_limited(2)],
            "search:barn": [server_error()],
            "session": [server_error()],
        },
    )
    result, posts = run_crawl(site, settings, tmp_path, actors=ACTORS[1:2], search_terms=["barn"])
    assert result.failures == {}
    first_page = [r.received for r in site.log if r.path == FEED and "cursor" not in r.query]
    assert len(first_page) == 2 and first_page[1] - first_page[0] >= 2.0
    assert len(requests_to(site, SESSION)) == 2 and site.sessions == 1
    assert len(requests_to(site, SEARCH, q="barn")) == 3  # 500, then two pages
    mamma = {post_id(p) for p in collectable(site).values() if p.author.key == "mamma"}
    assert mamma <= {p.id for p in posts}


def test_a_timeout_is_counted_and_the_rest_still_crawled(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAKTPOST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VAKTPOST_CRAWL__DOWNLOAD_TIMEOUT_S", "1")
    monkeypatch.setenv("VAKTPOST_CRAWL__RETRIES", "1")
    settings = load_settings()
    site = BlueskySite(NOW, faults={"feed:granskaren.bsky.social": [slow(2.5), slow(2.5)]})
    result, posts = run_crawl(site, settings, tmp_path, actors=ACTORS[:3:2])  # granskaren and bladet
    assert result.failures == {"timeout": 1}
    assert {p.id for p in posts} == {pid for pid, p in collectable(site).items() if p.author.key == "bladet"}
    # the broken walk keeps its old watermark, so the next crawl tries granskaren again from the horizon
    assert "granskaren.bsky.social" not in json.loads(result.pending_state.read_text()).get("feeds", {})


def test_walls_refusals_and_garbage_are_counted_never_stored(
    settings: Settings, tmp_path: Path, app_password: None
) -> None:
    site = BlueskySite(
        NOW,
        forget_tokens=True,  # searchPosts answers 403 AuthMissing as if no token had been sent
        faults={
            "feed:granskaren.bsky.social": [block_page()],
            "feed:mamma-i-orebro.bsky.social": [challenge_page()],
            "feed:bladet.vaktpost-demo.se": [garbage()],
            "feed:did:plc:p5ws2fmk7cbl3tvg6yxdr4nu": [wrong_shape()],
        },
    )
    actors = [*ACTORS, "blockerad.bsky.social", "blockerar.bsky.social", "finns-inte.bsky.social"]
    result, posts = run_crawl(site, settings, tmp_path, actors=actors, search_terms=["barn"])
    assert posts == []  # the only healthy feed is the opted-out author's: skipped, and not a failure
    assert result.failures == {
        "access_denied": 1,
        "challenge_page": 1,
        "malformed_json": 1,
        "unexpected_json": 1,
        "blocked_actor": 1,
        "blocked_by_actor": 1,
        "unknown_actor": 1,
        "auth_missing": 1,
    }
    assert set(json.loads(result.pending_state.read_text()).get("feeds", {})) == {"tyst-konto.bsky.social"}


def test_robots_txt_is_obeyed_and_a_long_walk_is_cut_short(
    settings: Settings, tmp_path: Path, app_password: None
) -> None:
    site = BlueskySite(NOW, robots=f"User-agent: *\nDisallow: {SEARCH}\n")
    result, posts = run_crawl(site, settings, tmp_path, actors=ACTORS[:1], search_terms=["barn"], max_pages_per_query=2)
    assert not requests_to(site, SEARCH)
    assert result.failures == {"robots_disallowed": 1, "walk_truncated": 1}
    assert len(requests_to(site, FEED)) == 2 and len(posts) == 7  # eight feed items, one by an opted-out author


# -- the command line ------------------------------------------------------------------------------------


@pytest.fixture
def direct_server() -> Iterator[ReplayServer]:
    server = ReplayServer({"bsky": BlueskySite(NOW)}, default="bsky")
    with server:
        yield server


def test_crawl_command_writes_json_lines_and_resumes(
    direct_server: ReplayServer, data_dir: Path, tmp_path: Path
) -> None:
    command = [
        sys.executable,
        "-m",
        "vaktpost.cli",
        "crawl",
        "bluesky",
        "--base-url",
        direct_server.url,
        "--start",
        "/profile/mamma-i-orebro.bsky.social",
    ]
    env = {
        "VAKTPOST_DATA_DIR": str(data_dir),
        "VAKTPOST_SOURCES": json.dumps([{"kind": "bluesky", "delay_s": 0}]),
        "PATH": "",
    }
    first = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    lines = [Post.model_validate_json(line) for line in first.stdout.splitlines()]
    # mamma's own six posts, minus none, plus granskaren's g7 that she reposted
    assert len(lines) == 7 and all(p.source == "bluesky" for p in lines)
    assert sum(p.author_name == "Granskaren" for p in lines) == 1
    out = tmp_path / "again.jsonl"
    second = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, env=env, check=False, cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr
    assert out.read_text(encoding="utf-8") == ""
    assert "0 posts" in second.stderr


# -- the replay site and the parser, without a crawl ------------------------------------------------------


def test_search_needs_the_session_token(direct_server: ReplayServer) -> None:
    search = f"{direct_server.url}{SEARCH}?{urlencode({'q': 'barn'})}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(search, timeout=5)
    assert refused.value.code == 403 and json.load(refused.value)["error"] == "AuthMissing"
    login = urllib.request.Request(
        f"{direct_server.url}{SESSION}",
        data=json.dumps({"identifier": HANDLE, "password": APP_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=5) as answer:
        token = json.load(answer)["accessJwt"]
    authorised = urllib.request.Request(search, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(authorised, timeout=5) as answer:
        assert len(json.load(answer)["posts"]) == 6


def _view(**update: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "uri": "at://did:plc:q7h3kz2xw5nbt4cvy6mdl2ra/app.bsky.feed.post/3mufvqama2225",
        "cid": "bafyreib2rxk3rw6putwqyd6bx3ik5hnx2csjbpfwojdvcvkg3fnbc5bwmy",
        "author": {"did": "did:plc:q7h3kz2xw5nbt4cvy6mdl2ra", "handle": "granskaren.bsky.social"},
        "record": {
            "$type": "app.bsky.feed.post",
            "text": "Möte på måndag #lvu",
            "createdAt": "2026-08-01T10:00:00.000Z",
            "facets": [{"index": {"byteStart": 18, "byteEnd": 22}, "features": [{"$type": "x#tag", "tag": "lvu"}]}],
        },
        "indexedAt": "2026-08-01T10:00:01.000Z",
    }
    return view | update


def test_post_fields_decisions() -> None:
    fields = post_fields(_view())
    assert fields["text"] == "Möte på måndag #lvu"  # whole: the byte offsets (18..22) are not character offsets
    assert fields["author_name"] == "granskaren.bsky.social" and fields["lang"] is None
    assert fields["thread_id"] == fields["id"] == "bluesky:did:plc:q7h3kz2xw5nbt4cvy6mdl2ra/3mufvqama2225"
    for odd in ("2026-09-01T10:00:00.000Z", "2026-08-01T10:00:00", "igår"):  # future, no zone, unreadable
        record = _view()["record"] | {"createdAt": odd}
        assert post_fields(_view(record=record))["created_at"] == "2026-08-01T10:00:01.000Z"
    backdated = _view()["record"] | {"createdAt": "2019-05-01T08:00:00+02:00"}
    assert post_fields(_view(record=backdated))["created_at"] == "2019-05-01T06:00:00.000Z"
    for gone in (
        {"$type": "app.bsky.feed.defs#notFoundPost", "uri": _view()["uri"], "notFound": True},
        {"$type": "app.bsky.feed.defs#blockedPost", "uri": _view()["uri"], "blocked": True, "author": {}},
    ):
        with pytest.raises(Skipped, match="unavailable"):
            post_fields(gone)
    label = {"src": "did:plc:q7h3kz2xw5nbt4cvy6mdl2ra", "val": "!no-unauthenticated", "cts": "2026-01-01T00:00:00Z"}
    with pytest.raises(Skipped, match="opted_out"):
        post_fields(_view(author=_view()["author"] | {"labels": [label]}))
    negated = _view(author=_view()["author"] | {"labels": [label, label | {"neg": True}][1:]})
    assert post_fields(negated)["id"]
    for broken in (_view(uri="https://bsky.app/x"), _view(record={"createdAt": "x"}), _view(indexedAt=None)):
        with pytest.raises(MalformedViewError):
            post_fields(broken)


# -- the replay's responses against the official lexicons (shared fixtures) ------------------------------


FORMATS = {
    "at-uri": re.compile(r"^at://[^/\s]+(/[a-zA-Z0-9.-]+(/[A-Za-z0-9._:~-]+)?)?$"),
    "did": re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]+$"),
    "handle": re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]*[a-zA-Z0-9])?$"),
    "datetime": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"),
    "cid": re.compile(r"^b[a-z2-7]{58}$"),
    "uri": re.compile(r"^[a-z][a-z0-9+.-]*:\S+$"),
    "language": re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$"),
}


class Lexicons:
    """Just enough of a Lexicon validator for XRPC outputs: objects, refs, unions, arrays and formats."""

    def __init__(self, folder: Path) -> None:
        self.docs = {}
        for path in folder.glob("lexicon_*.json"):
            doc = json.loads(path.read_text(encoding="utf-8"))
            self.docs[doc["id"]] = doc
        self.unchecked: set[str] = set()

    def resolve(self, ref: str, nsid: str) -> tuple[dict[str, Any] | None, str]:
        target, _, name = ref.partition("#")
        target = target or nsid
        doc = self.docs.get(target)
        if doc is None:
            self.unchecked.add(f"{target}#{name or 'main'}")
            return None, target
        return doc["defs"][name or "main"], target

    def output(self, nsid: str, value: Any) -> list[str]:
        return self.check(value, self.docs[nsid]["defs"]["main"]["output"]["schema"], nsid, "$")

    def params(self, nsid: str, query: str) -> list[str]:
        spec = self.docs[nsid]["defs"]["main"]["parameters"]
        given = parse_qs(query)
        errors = [f"missing parameter {name}" for name in spec.get("required", []) if name not in given]
        for name, values in given.items():
            prop = spec["properties"].get(name)
            if prop is None:
                errors.append(f"unknown parameter {name}")
                continue
            for value in values:
                if prop["type"] == "integer":
                    if not prop.get("minimum", 0) <= int(value) <= prop.get("maximum", 10**9):
                        errors.append(f"{name}={value} out of range")
                elif "knownValues" in prop and value not in prop["knownValues"]:
                    errors.append(f"{name}={value} not one of {prop['knownValues']}")
        return errors

    def check(self, value: Any, schema: dict[str, Any], nsid: str, at: str) -> list[str]:
        kind = schema["type"]
        if kind == "ref":
            target, target_nsid = self.resolve(schema["ref"], nsid)
            return [] if target is None else self.check(value, target, target_nsid, at)
        if kind == "union":
            if not isinstance(value, dict) or "$type" not in value:
                return [f"{at}: union member without $type"]
            refs = {_full_ref(ref, nsid) for ref in schema["refs"]}
            name = _full_ref(value["$type"], nsid)
            if name not in refs:
                return [f"{at}: $type {name} not allowed"] if schema.get("closed") else []
            return self.check(value, {"type": "ref", "ref": name}, nsid, at)
        if kind == "object":
            if not isinstance(value, dict):
                return [f"{at}: expected an object"]
            errors = [f"{at}: missing {key}" for key in schema.get("required", []) if key not in value]
            for key, prop in schema.get("properties", {}).items():
                if key in value:
                    errors += self.check(value[key], prop, nsid, f"{at}.{key}")
            return errors
        if kind == "record":
            return self.check(value, schema["record"], nsid, at)
        if kind == "array":
            if not isinstance(value, list):
                return [f"{at}: expected an array"]
            errors = [] if len(value) <= schema.get("maxLength", 10**9) else [f"{at}: too many items"]
            for n, item in enumerate(value):
                errors += self.check(item, schema["items"], nsid, f"{at}[{n}]")
            return errors
        if kind == "string":
            if not isinstance(value, str):
                return [f"{at}: expected a string"]
            errors = []
            if len(value.encode("utf-8")) > schema.get("maxLength", 10**9):
                errors.append(f"{at}: longer than {schema['maxLength']} bytes")
            if len(value) > schema.get("maxGraphemes", 10**9):
                errors.append(f"{at}: more than {schema['maxGraphemes']} characters")
            pattern = FORMATS.get(schema.get("format", ""))
            if pattern is not None and not pattern.match(value):
                errors.append(f"{at}: {value[:60]!r} is not a {schema['format']}")
            return errors
        if kind == "integer":
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= schema.get("minimum", -(10**18))
            return [] if ok else [f"{at}: expected an integer"]
        if kind == "boolean":
            ok = isinstance(value, bool) and ("const" not in schema or value == schema["const"])
            return [] if ok else [f"{at}: expected a boolean"]
        if kind == "unknown":
            post = self.docs.get("app.bsky.feed.post")
            if post is not None and isinstance(value, dict) and value.get("$type") == post["id"]:
                return self.check(value, post["defs"]["main"], post["id"], at)  # postView.record
            return []
        self.unchecked.add(kind)
        return []


def _full_ref(ref: str, nsid: str) -> str:
    """``#def`` and ``nsid`` forms of a lexicon reference, written out as ``nsid#def``."""
    if ref.startswith("#"):
        return f"{nsid}{ref}"
    return ref if "#" in ref else f"{ref}#main"


def test_replay_responses_match_the_official_lexicons_and_parse() -> None:
    if not SHARED.is_dir():
        pytest.skip("shared Bluesky lexicons not present")
    lexicons = Lexicons(SHARED)
    site = BlueskySite(NOW)
    errors: list[str] = []
    views: list[dict[str, Any]] = []
    for actor in ACTORS:
        query = urlencode({"actor": actor, "limit": 4, "filter": "posts_with_replies"})
        while True:
            errors += lexicons.params("app.bsky.feed.getAuthorFeed", query)
            page = site.handle(FEED, query, "")
            body = json.loads(page.body)
            assert page.status == 200, body
            errors += lexicons.output("app.bsky.feed.getAuthorFeed", body)
            views += [item["post"] for item in body["feed"]]
            if "cursor" not in body:
                break
            query = urlencode({"actor": actor, "limit": 4, "cursor": body["cursor"]})
    credentials = json.dumps({"identifier": HANDLE, "password": APP_PASSWORD}).encode()
    token = json.loads(site.respond(Request("POST", SESSION, "", "", {}, credentials)).body)["accessJwt"]
    since = (NOW - timedelta(days=30)).isoformat()
    for term in ("socialtjänsten", "barn", "LVU"):
        query = urlencode({"q": term, "sort": "latest", "since": since, "lang": "sv", "limit": 100})
        errors += lexicons.params("app.bsky.feed.searchPosts", query)
        body = json.loads(site.respond(Request("GET", SEARCH, query, "", {"authorization": f"Bearer {token}"})).body)
        errors += lexicons.output("app.bsky.feed.searchPosts", body)
        views += body["posts"]
    assert errors == []
    assert "app.bsky.feed.defs#postView" not in lexicons.unchecked  # the shapes that matter were checked
    # facets are UTF-8 byte ranges: slicing the encoded text gives the tag, mention or link exactly
    faceted = 0
    for view in views:
        record = view["record"]
        encoded = record["text"].encode("utf-8")
        for facet in record.get("facets", []):
            piece = encoded[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")
            feature = facet["features"][0]
            assert piece == {"tag": f"#{feature.get('tag')}", "link": feature.get("uri")}.get(
                feature["$type"].rsplit("#", 1)[1], piece
            )
            faceted += 1
    assert faceted >= 5
    # and the parser takes every view the replay serves: a post, or a deliberate skip
    kept = skipped = 0
    for view in views:
        try:
            fields = post_fields(view)
        except Skipped as skip:
            assert skip.reason == "opted_out"
            skipped += 1
        else:
            assert urlsplit(fields["url"]).netloc == "bsky.app"
            kept += 1
    assert kept > 20 and skipped >= 3
