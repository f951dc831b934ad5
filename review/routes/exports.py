"""Exports of the current selection (the session's filters): CSV for Excel, a printable report, and the
reviewers' corrections as training feedback. Every export is audited; the audit detail holds the format and
the number of posts, never personal data.

Reviewers get texts with the exposed personal data replaced by its kind; safety officers and admins the full
text. The corrections file needs the real text (it trains and evaluates the classifier), so it is for safety
officers and admins only.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from index import SearchQuery, Store, StoredPost
from models import redact
from review.accounts import Session
from review.filters import FilterState, describe, to_query
from review.presentation import stockholm
from review.routes.posts import may_see_personal_data
from review.web import ANY_ROLE, audit, render, require, services
from vaktpost.schema import LABELS
from vaktpost.swedish import LABEL_NAMES, STATUS_NAMES

router = APIRouter()

EXPORT_LIMIT = 10_000
BATCH = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = [
    "id",
    "skapad",
    "källa",
    "url",
    "författare (pseudonym)",
    "etiketter",
    *(f"poäng {LABEL_NAMES[label].lower()} (%)" for label in LABELS),
    "status",
    "tilldelad",
    "text",
]


def iterate(store: Store, query: SearchQuery, limit: int = EXPORT_LIMIT) -> Iterator[StoredPost]:
    """Every post the query matches, in its order, a batch at a time, at most ``limit``."""
    offset = 0
    while offset < limit:
        page = store.search(replace(query, limit=min(BATCH, limit - offset), offset=offset))
        yield from page.items
        offset += len(page.items)
        if len(page.items) < BATCH or offset >= page.total:
            return


def _filters(session: Session) -> FilterState:
    saved = session.state.get("filters")
    return saved if isinstance(saved, dict) else {}


def selection(request: Request, session: Session) -> list[StoredPost]:
    query = to_query(_filters(session), may_filter_staff=may_see_personal_data(session.user))
    return list(iterate(services(request).store, query))


def export_text(stored: StoredPost, *, show_personal_data: bool) -> str:
    if show_personal_data:
        return stored.post.text
    return redact(stored.post.text, stored.verdict.pii)


def cell(value: str) -> str:
    """A CSV cell that Excel and LibreOffice show as text, never evaluate as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _stamp(now: datetime) -> str:
    return stockholm(now, "%Y%m%d-%H%M")


def _audit_export(request: Request, session: Session, kind: str, posts: int) -> None:
    audit(request, session, "export", None, json.dumps({"format": kind, "posts": posts}))


@router.get("/export.csv")
def export_csv(request: Request, session: Annotated[Session, Depends(ANY_ROLE)]) -> Response:
    show = may_see_personal_data(session.user)
    posts = selection(request, session)
    buffer = io.StringIO()
    # Semicolons: what Excel with Swedish regional settings expects when a .csv file is opened directly.
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for stored in posts:
        post = stored.post
        row = [
            post.id,
            stockholm(post.created_at, "%Y-%m-%d %H:%M"),
            post.source,
            post.url,
            post.author_id or "",
            ", ".join(LABEL_NAMES.get(label, label) for label in stored.labels),
            *(str(round(stored.verdict.scores.get(label, 0.0) * 100)) for label in LABELS),
            STATUS_NAMES.get(stored.review_status, stored.review_status),
            stored.assignee or "",
            export_text(stored, show_personal_data=show),
        ]
        writer.writerow([cell(value) for value in row])
    _audit_export(request, session, "csv", len(posts))
    name = f"vaktpost-urval-{_stamp(datetime.now(UTC))}.csv"
    return Response(
        content="\ufeff" + buffer.getvalue(),  # the BOM tells Excel the file is UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@dataclass(frozen=True)
class ReportRow:
    id: str
    created_at: datetime
    source: str
    url: str
    labels: list[tuple[str, float]]
    status: str
    assignee: str | None
    text: str


@router.get("/rapport")
def report(request: Request, session: Annotated[Session, Depends(ANY_ROLE)]) -> Response:
    show = may_see_personal_data(session.user)
    posts = selection(request, session)
    rows = [
        ReportRow(
            id=stored.post.id,
            created_at=stored.post.created_at,
            source=stored.post.source,
            url=stored.post.url,
            labels=[(label, stored.verdict.scores.get(label, 0.0)) for label in stored.labels],
            status=stored.review_status,
            assignee=stored.assignee,
            text=export_text(stored, show_personal_data=show),
        )
        for stored in posts
    ]
    _audit_export(request, session, "report", len(rows))
    context: dict[str, Any] = {
        "rows": rows,
        "generated_at": datetime.now(UTC),
        "described": describe(_filters(session), may_filter_staff=show),
        "show_personal_data": show,
        "limit": EXPORT_LIMIT,
    }
    return render(request, "report.html", context)


def correction_lines(store: Store) -> Iterator[dict[str, Any]]:
    """``{"id", "text", "labels"}`` (the ``vaktpost evaluate`` format) for every post a reviewer corrected,
    and every confirmed post with its flags as labels.

    Correcting a post's labels also confirms a post that was new (see ``posts``), so every corrected post has
    been reviewed: the first pass finds them, flagged or not; the second covers posts corrected before that
    rule, flagged and still marked new."""
    seen: set[str] = set()
    passes = [
        SearchQuery(flagged_only=False, review_status=["confirmed", "dismissed", "escalated"], sort="oldest"),
        SearchQuery(flagged_only=True, review_status=["new"], sort="oldest"),
    ]
    for query in passes:
        for stored in iterate(store, query):
            if stored.post.id in seen or not stored.post.text.strip():
                continue
            seen.add(stored.post.id)
            if stored.corrected_labels is not None:
                labels = list(stored.corrected_labels)
            elif stored.review_status == "confirmed":
                labels = list(stored.verdict.flags)
            else:
                continue
            yield {"id": stored.post.id, "text": stored.post.text, "labels": [x for x in LABELS if x in labels]}


@router.get("/export/korrigeringar.jsonl")
def export_corrections(request: Request, session: Annotated[Session, Depends(require("safety"))]) -> Response:
    lines = [json.dumps(line, ensure_ascii=False) for line in correction_lines(services(request).store)]
    _audit_export(request, session, "corrections", len(lines))
    name = f"vaktpost-rattelser-{_stamp(datetime.now(UTC))}.jsonl"
    return Response(
        content="".join(line + "\n" for line in lines),
        media_type="application/x-ndjson; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
