"""Documents and write actions: Vaktpost records to Elasticsearch documents and back (no client here).

A post document holds the searchable fields of the post and its latest verdict, the reviewers' fields,
and the full Post and Verdict as stored-only JSON (``post_json``, ``verdict_json``) from which a
``StoredPost`` is rebuilt exactly. ``author_name`` is a top-level field only (not in ``post_json``): it is
kept only while the post is flagged, as in the SQLite store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from index.store import REVIEW_STATUSES, ReviewNote, ReviewStatus, ReviewUpdate, StoredPost
from vaktpost.schema import LABELS, Alert, AnalysedPost, Label, Post, RunReport, Verdict

RETRY_ON_CONFLICT = 3

UPSERT_SCRIPT = """
for (def entry : params.doc.entrySet()) { ctx._source.put(entry.getKey(), entry.getValue()); }
if (params.flagged) {
  if (ctx._source.author_name == null) { ctx._source.author_name = params.author_name; }
} else {
  ctx._source.author_name = null;
}
""".strip()
"""Applied when the post is already stored: replace the analysis fields (``params.doc``) and apply the
author name rule (kept while flagged, first capture wins; dropped when not flagged). The post's content
and the reviewers' fields are never touched."""

REVIEW_SCRIPT = """
for (def entry : params.set.entrySet()) { ctx._source.put(entry.getKey(), entry.getValue()); }
if (params.note != null) {
  if (ctx._source.notes == null) { ctx._source.notes = new ArrayList(); }
  ctx._source.notes.add(params.note);
}
""".strip()
"""A reviewer's change: set the changed review fields (``params.set``) and append the note, if any."""

MARK_ALERT_SCRIPT = """
ctx._source.status = params.status;
ctx._source.attempts = (ctx._source.attempts == null ? 0 : ctx._source.attempts) + 1;
ctx._source.last_error = params.error;
ctx._source.updated_at = params.at;
""".strip()

REVIEW_FIELDS = frozenset(
    {"review_status", "assignee", "corrected_labels", "notes", "reviewed_by", "reviewed_at", "first_seen_run"}
)
"""Fields a re-analysis never writes (``first_seen_run`` is set once, by the first upsert)."""


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def analysis_fields(item: AnalysedPost) -> dict[str, Any]:
    """What a (re-)analysis sets: the verdict and the fields derived from it."""
    verdict = item.verdict
    return {
        "verdict_json": verdict.model_dump(mode="json"),
        "scores": {label: float(verdict.scores[label]) for label in LABELS},
        "flags": list(verdict.flags),
        "severity": float(verdict.severity),
        "flagged": bool(verdict.flags),
        "analysed_at": iso(verdict.analysed_at),
        "pii": [span.model_dump(mode="json") for span in verdict.pii],
        "protected_staff": verdict.protected_staff,
        "exposed": sorted({kind for exposure in verdict.exposures for kind in exposure.exposed}),
    }


def post_document(item: AnalysedPost, run_id: str | None = None) -> dict[str, Any]:
    """The whole document of a post stored for the first time."""
    post = item.post
    flagged = bool(item.verdict.flags)
    post_json = post.model_dump(mode="json", exclude={"author_name"})
    return {
        "id": post.id,
        "source": post.source,
        "url": post.url,
        "author_id": post.author_id,
        "author_name": post.author_name if flagged else None,
        "forwarded_from": post.forwarded_from,
        "title": post.title,
        "text": post.text,
        "quoted_text": post.quoted_text,
        "lang": post.lang,
        "created_at": iso(post.created_at),
        "collected_at": iso(post.collected_at),
        "thread_id": post.thread_id,
        "reply_to": post.reply_to,
        "first_seen_run": run_id,
        "post_json": post_json,
        **analysis_fields(item),
        "review_status": "new",
        "assignee": None,
        "corrected_labels": None,
        "reviewed_by": None,
        "reviewed_at": None,
        "notes": [],
    }


def upsert_action(item: AnalysedPost, index: str, run_id: str | None = None) -> dict[str, Any]:
    """One ``streaming_bulk`` update action: ``upsert`` is the first capture, stored when the post is new;
    otherwise the script replaces the analysis fields (``params.doc``) and applies the author name rule."""
    flagged = bool(item.verdict.flags)
    return {
        "_op_type": "update",
        "_index": index,
        "_id": item.post.id,
        "retry_on_conflict": RETRY_ON_CONFLICT,
        "script": {
            "lang": "painless",
            "source": UPSERT_SCRIPT,
            "params": {
                "doc": analysis_fields(item),
                "flagged": flagged,
                "author_name": item.post.author_name if flagged else None,
            },
        },
        "upsert": post_document(item, run_id),
    }


def upsert_actions(items: Sequence[AnalysedPost], index: str, run_id: str | None = None) -> list[dict[str, Any]]:
    return [upsert_action(item, index, run_id) for item in items]


def stored_post(source: Mapping[str, Any]) -> StoredPost:
    """Rebuild a stored post from its document's ``_source``."""
    post = Post.model_validate({**source["post_json"], "author_name": source.get("author_name")})
    verdict = Verdict.model_validate(source["verdict_json"])
    status = source.get("review_status") or "new"
    if status not in REVIEW_STATUSES:
        raise ValueError(f"post {post.id!r} has an unknown review status {status!r}")
    corrected = source.get("corrected_labels")
    notes = tuple(
        ReviewNote(at=parse_time(note["at"]), author=note["author"], text=note["text"])
        for note in source.get("notes") or ()
    )
    reviewed_at = source.get("reviewed_at")
    return StoredPost(
        post=post,
        verdict=verdict,
        review_status=cast(ReviewStatus, status),
        assignee=source.get("assignee"),
        corrected_labels=None if corrected is None else [cast(Label, label) for label in corrected],
        first_seen_run=source.get("first_seen_run"),
        notes=notes,
        reviewed_by=source.get("reviewed_by"),
        reviewed_at=parse_time(reviewed_at) if reviewed_at else None,
    )


def review_change(update: ReviewUpdate, actor: str, at: datetime) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The ``REVIEW_SCRIPT`` params of a reviewer's change (None when nothing changes) and the audit detail.

    As in the SQLite store: ``reviewed_by``/``reviewed_at`` change with the status, assignee or labels (not
    with a note alone); corrected labels are kept in the order of LABELS; the audit detail records that a
    note was added, never its text (it may name people).
    """
    changes: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    if update.status is not None:
        fields["review_status"] = changes["status"] = update.status
    if update.unassign or update.assignee is not None:
        fields["assignee"] = changes["assignee"] = None if update.unassign else update.assignee
    if update.corrected_labels is not None:
        chosen = set(update.corrected_labels)
        fields["corrected_labels"] = changes["corrected_labels"] = [label for label in LABELS if label in chosen]
    if fields:
        fields["reviewed_by"] = actor
        fields["reviewed_at"] = iso(at)
    note = None
    if update.note:
        note = {"at": iso(at), "author": actor, "text": update.note}
        changes["note"] = "added"
    if not changes:
        return None, changes
    return {"set": fields, "note": note}, changes


def audit_detail(changes: Mapping[str, Any]) -> str:
    return json.dumps(changes, ensure_ascii=False)


def audit_document(actor: str, action: str, post_id: str | None, detail: str, at: datetime, seq: int) -> dict[str, Any]:
    return {
        "@timestamp": iso(at),
        "at": iso(at),
        "seq": seq,
        "actor": actor,
        "action": action,
        "post_id": post_id,
        "detail": detail,
    }


def run_document(report: RunReport, recorded_at: datetime) -> dict[str, Any]:
    return {
        "@timestamp": iso(report.finished_at),
        "run_id": report.run_id,
        "started_at": iso(report.started_at),
        "finished_at": iso(report.finished_at),
        "recorded_at": iso(recorded_at),
        "outcome": report.outcome,
        "demo": report.demo,
        "report_json": report.model_dump(mode="json"),
    }


def alert_document(alert: Alert, status: str, now: datetime) -> dict[str, Any]:
    return {
        "id": alert.id,
        "rule": alert.rule,
        "post_id": alert.post_id,
        "severity": str(alert.severity),
        "labels": list(alert.labels),
        "source": alert.source,
        "created_at": iso(alert.created_at),
        "status": status,
        "attempts": 0,
        "last_error": None,
        "updated_at": iso(now),
        "alert_json": alert.model_dump(mode="json"),
    }
