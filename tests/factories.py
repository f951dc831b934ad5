"""Small builders for posts and verdicts used across tests (real schema objects, no mocks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vaktpost.schema import LABELS, AnalysedPost, Label, PiiSpan, Post, Verdict

BASE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def analysed(
    number: int,
    text: str = "en vanlig text",
    flags: tuple[Label, ...] = (),
    score: float = 0.8,
    source: str = "flashback",
    author_name: str | None = "Nick",
    pii: tuple[PiiSpan, ...] = (),
    hours: int = 0,
) -> AnalysedPost:
    post = Post(
        id=f"{source}:{number}",
        source=source,
        url=f"https://{source}.example/p{number}",
        author_id=f"a{number:020d}",
        author_name=author_name,
        text=text,
        created_at=BASE + timedelta(hours=hours or number),
        collected_at=BASE + timedelta(days=1),
        thread_id=f"{source}:t1",
    )
    scores = {label: (score if label in flags else 0.1) for label in LABELS}
    return AnalysedPost(post=post, verdict=Verdict(post_id=post.id, scores=scores, flags=list(flags), pii=list(pii)))
