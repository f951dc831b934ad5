"""The store interface the flows, the CLI and (later) the review app use, whatever the backend.

Contract: a post is stored once under ``Post.id`` with its first captured content; a re-analysis updates
its verdict but never the reviewers' fields; alerts are claimed once per rule and post, ever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from vaktpost.schema import Alert, AnalysedPost, DeliveryStatus, Label, Post, RunReport, Verdict

ReviewStatus = Literal["new", "confirmed", "dismissed", "escalated"]


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message says which store and why."""


@dataclass(frozen=True)
class StoredPost:
    post: Post
    verdict: Verdict
    review_status: ReviewStatus = "new"
    assignee: str | None = None
    corrected_labels: list[Label] | None = None
    first_seen_run: str | None = None


@dataclass(frozen=True)
class UpsertResult:
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None
    labels: Sequence[Label] = ()
    sources: Sequence[str] = ()
    min_score: float | None = None
    since: datetime | None = None
    until: datetime | None = None
    review_status: Sequence[ReviewStatus] = ()
    flagged_only: bool = True
    sort: Literal["severity", "newest", "oldest"] = "severity"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class SearchPage:
    total: int
    items: list[StoredPost]


class Store(Protocol):
    def upsert(self, items: Sequence[AnalysedPost], run_id: str | None = None) -> UpsertResult: ...

    def get(self, post_id: str) -> StoredPost | None: ...

    def existing_ids(self, ids: Sequence[str]) -> set[str]: ...

    def search(self, query: SearchQuery) -> SearchPage: ...

    def summary(self, recent: int = 10) -> dict[str, Any]: ...

    def record_run(self, report: RunReport) -> None: ...

    def last_runs(self, limit: int = 10) -> list[RunReport]: ...

    def claim_alert(self, alert: Alert) -> bool: ...

    def mark_alert(self, alert_id: str, status: DeliveryStatus, error: str | None = None) -> None: ...

    def pending_alerts(self) -> list[Alert]: ...

    def audit(self, actor: str, action: str, post_id: str | None = None, detail: str = "") -> None: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def close(self) -> None: ...
