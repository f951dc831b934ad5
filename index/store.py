"""The store interface the flows, the CLI and the review app use, whatever the backend.

Contract (both backends, checked by tests/test_store_contract.py):
- a post is stored once under ``Post.id`` with its first captured content; a re-analysis updates its
  verdict but never the reviewers' fields (status, assignee, corrected labels, notes);
- reviewers' changes go through ``review``, which also writes the append-only audit log;
- alerts are claimed once per rule and post, ever;
- ``purge`` applies the retention periods and says what it removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from vaktpost.schema import Alert, AnalysedPost, DeliveryStatus, Label, Post, RunReport, Verdict

ReviewStatus = Literal["new", "confirmed", "dismissed", "escalated"]
REVIEW_STATUSES: tuple[ReviewStatus, ...] = ("new", "confirmed", "dismissed", "escalated")
SortOrder = Literal["severity", "newest", "oldest"]
Facet = Literal["label", "day", "source", "review_status"]
FACETS: tuple[Facet, ...] = ("label", "day", "source", "review_status")


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message says which store and why."""


class NotFoundError(StoreError):
    """No post with that id (it may have been purged)."""


@dataclass(frozen=True)
class ReviewNote:
    at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class StoredPost:
    post: Post
    verdict: Verdict
    review_status: ReviewStatus = "new"
    assignee: str | None = None
    corrected_labels: list[Label] | None = None
    first_seen_run: str | None = None
    notes: tuple[ReviewNote, ...] = ()
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None

    @property
    def labels(self) -> list[Label]:
        """What a reviewer says the labels are, or else what the analysis flagged."""
        return list(self.corrected_labels) if self.corrected_labels is not None else list(self.verdict.flags)


@dataclass(frozen=True)
class UpsertResult:
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SearchQuery:
    """Filters are combined with AND; values within one filter with OR.

    ``min_score``/``max_score`` bound the score of any of ``labels`` when labels are given, else the
    post's severity (its highest flagged score). ``since``/``until`` bound the post's creation time
    (``until`` exclusive). Days in facets are UTC dates.
    """

    text: str | None = None
    labels: Sequence[Label] = ()
    sources: Sequence[str] = ()
    min_score: float | None = None
    max_score: float | None = None
    since: datetime | None = None
    until: datetime | None = None
    review_status: Sequence[ReviewStatus] = ()
    assignees: Sequence[str] = ()
    unassigned: bool = False
    protected_staff: Sequence[str] = ()
    thread_id: str | None = None
    flagged_only: bool = True
    sort: SortOrder = "severity"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class SearchPage:
    total: int
    items: list[StoredPost]


@dataclass(frozen=True)
class ReviewUpdate:
    """A reviewer's change; fields left at None are not touched."""

    status: ReviewStatus | None = None
    assignee: str | None = None
    unassign: bool = False
    corrected_labels: Sequence[Label] | None = None
    note: str | None = None

    def is_empty(self) -> bool:
        return (
            self.status is None
            and self.assignee is None
            and not self.unassign
            and self.corrected_labels is None
            and not self.note
        )


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    post_id: str | None
    detail: str


@dataclass(frozen=True)
class RetentionPolicy:
    unflagged_days: int
    flagged_days: int
    dismissed_days: int
    audit_days: int = 730


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed; ``cutoffs`` holds the ISO times before which each kind was deleted."""

    unflagged: int = 0
    flagged: int = 0
    dismissed: int = 0
    audit_entries: int = 0
    cutoffs: dict[str, str] = field(default_factory=dict)

    @property
    def posts(self) -> int:
        return self.unflagged + self.flagged + self.dismissed


def run_brief(report: RunReport) -> dict[str, Any]:
    """The last run as ``Store.summary`` reports it, the same on every backend."""
    return {
        "run_id": report.run_id,
        "finished_at": report.finished_at.isoformat(),
        "outcome": report.outcome,
        "new_posts": report.new,
        "demo": report.demo,
    }


class Store(Protocol):
    backend: str

    def upsert(self, items: Sequence[AnalysedPost], run_id: str | None = None) -> UpsertResult: ...

    def get(self, post_id: str) -> StoredPost | None: ...

    def existing_ids(self, ids: Sequence[str]) -> set[str]: ...

    def search(self, query: SearchQuery) -> SearchPage: ...

    def counts(self, query: SearchQuery, by: Facet) -> dict[str, int]:
        """How many posts match ``query`` per label, UTC day, source or review status (sorted by key)."""
        ...

    def review(self, post_id: str, actor: str, update: ReviewUpdate) -> StoredPost:
        """Apply a reviewer's change and audit it; raises NotFoundError for an unknown post."""
        ...

    def audit(self, actor: str, action: str, post_id: str | None = None, detail: str = "") -> None: ...

    def audit_log(
        self, post_id: str | None = None, actor: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[AuditEntry]:
        """Newest first."""
        ...

    def purge(self, policy: RetentionPolicy, now: datetime | None = None) -> PurgeReport: ...

    def summary(self, recent: int = 10) -> dict[str, Any]: ...

    def record_run(self, report: RunReport) -> None: ...

    def last_runs(self, limit: int = 10) -> list[RunReport]: ...

    def claim_alert(self, alert: Alert) -> bool: ...

    def mark_alert(self, alert_id: str, status: DeliveryStatus, error: str | None = None) -> None: ...

    def pending_alerts(self) -> list[Alert]: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def schema_version(self) -> int: ...

    def reindex(self) -> str:
        """Rebuild the search index from the stored posts without downtime; returns what was done."""
        ...

    def close(self) -> None: ...
