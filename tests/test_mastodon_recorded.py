"""The Mastodon spider against responses recorded from a real Mastodon 4.5 server (../shared/fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import crawlers
from demo.replay import ReplayServer
from tests.replay.cassette_site import CassetteSite
from vaktpost.settings import MastodonSource, Settings

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "mastodon"
pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is not available")


def recorded_statuses(cassette: str, path_part: str) -> list[dict[str, object]]:
    interactions = yaml.safe_load((FIXTURES / cassette).read_text(encoding="utf-8"))["interactions"]
    statuses: list[dict[str, object]] = []
    for interaction in interactions:
        if interaction["request"]["method"] == "GET" and path_part in interaction["request"]["uri"]:
            statuses += json.loads(interaction["response"]["body"]["string"])
    return statuses


def test_recorded_timelines_parse_into_posts(settings: Settings, tmp_path: Path) -> None:
    docs_example = (FIXTURES / "docs_status_entity_example.json").read_bytes()
    site = CassetteSite(
        [
            FIXTURES / "mastodonpy_cassette_test_hashtag_tl.yaml",
            FIXTURES / "mastodonpy_cassette_test_account_lookup.yaml",
            FIXTURES / "mastodonpy_cassette_test_fetch_next_previous.yaml",
            FIXTURES / "mastodonpy_cassette_test_public_tl_anonymous.yaml",
        ],
        extra={"/api/v1/timelines/tag/docs": b"[" + docs_example + b"]"},
    )
    # the anonymous public timeline (no viewer fields) served as one more tag timeline
    site.by_path["/api/v1/timelines/tag/anonymous"] = site.by_path["/api/v1/timelines/public"]
    anonymous = recorded_statuses("mastodonpy_cassette_test_public_tl_anonymous.yaml", "/timelines/public")
    source = MastodonSource(
        kind="mastodon",
        base_url="http://localhost:3000",
        hashtags=["hoot", "docs", "anonymous"],
        accounts=["mastodonpy_test"],
        delay_s=0,
        since_days=3650,
    )
    with ReplayServer({"localhost": site}) as server:
        result = crawlers.crawl(source, settings, tmp_path, proxy=server.url)
    posts = {p.id: p for p in crawlers.read_posts(result.posts_file)}
    assert result.ok and result.failures == {}, result.failures

    expected: dict[str, dict[str, object]] = {}
    for status in (
        recorded_statuses("mastodonpy_cassette_test_hashtag_tl.yaml", "/timelines/tag/hoot")
        + recorded_statuses("mastodonpy_cassette_test_fetch_next_previous.yaml", "/statuses")
        + anonymous
        + [json.loads(docs_example)]
    ):
        original = status.get("reblog") or status
        assert isinstance(original, dict)
        if original.get("visibility") in ("public", "unlisted"):
            expected[f"mastodon:localhost:3000/{original['id']}"] = original
    assert set(posts) == set(expected)
    for post_id, status in expected.items():
        post = posts[post_id]
        assert post.lang == status["language"]
        assert post.created_at.isoformat().startswith(str(status["created_at"])[:19])
        assert "<" not in post.text and "&amp;" not in post.text  # HTML converted once, entities decoded
        assert post.author_id and str(status["account"]["acct"]) not in post.author_id  # type: ignore[index]
    documented = posts[f"mastodon:localhost:3000/{json.loads(docs_example)['id']}"]
    assert documented.author_name == json.loads(docs_example)["account"]["display_name"]
    assert documented.url == json.loads(docs_example)["url"]
