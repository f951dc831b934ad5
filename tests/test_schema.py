from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from vaktpost.schema import LABELS, SCHEMA_VERSION, AnalysedPost, Post, Verdict


def make_post(**overrides: object) -> Post:
    fields: dict[str, object] = {
        "id": "flashback:123",
        "source": "flashback",
        "url": "https://www.flashback.org/p123",
        "text": "Hej",
        "created_at": "2026-11-20T21:13:00+01:00",
        "collected_at": "2026-11-21T00:00:00Z",
    }
    fields.update(overrides)
    return Post.model_validate(fields)


def test_post_roundtrips_through_json_with_utc_times() -> None:
    post = make_post(quoted_text="citat", thread_id="flashback:t9", reply_to="flashback:100")
    assert post.created_at == datetime(2026, 11, 20, 20, 13, tzinfo=UTC)
    assert post.created_at.utcoffset() == timedelta(0)
    again = Post.model_validate_json(post.model_dump_json())
    assert again == post
    assert again.schema_version == SCHEMA_VERSION
    assert post.native_id == "123"


def test_naive_timestamps_are_rejected_not_guessed() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        make_post(created_at="2026-11-20T21:13:00")


def test_id_must_carry_its_source() -> None:
    with pytest.raises(ValidationError, match="must start with the source"):
        make_post(id="mastodon:1")
    with pytest.raises(ValidationError):
        make_post(id="no-colon")


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        make_post(author_handle="@someone")


def test_verdict_needs_every_label_in_range() -> None:
    scores = dict.fromkeys(LABELS, 0.1)
    Verdict(post_id="x:1", scores=scores)
    with pytest.raises(ValidationError, match="missing"):
        Verdict(post_id="x:1", scores={"threat": 0.2})
    with pytest.raises(ValidationError):
        Verdict(post_id="x:1", scores={**scores, "threat": 1.5})


def test_severity_is_the_highest_flagged_score() -> None:
    verdict = Verdict(
        post_id="flashback:123",
        scores={"disinformation": 0.9, "doxxing": 0.2, "threat": 0.6, "harassment": 0.1},
        flags=["threat"],
    )
    assert verdict.severity == 0.6
    assert Verdict(post_id="x:1", scores=dict.fromkeys(LABELS, 0.9)).severity == 0.0


def test_analysed_post_must_pair_matching_ids() -> None:
    post = make_post()
    with pytest.raises(ValidationError, match="attached to post"):
        AnalysedPost(post=post, verdict=Verdict(post_id="flashback:999", scores=dict.fromkeys(LABELS, 0.0)))
