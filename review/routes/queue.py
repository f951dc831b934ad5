"""The review queue: flagged posts, most severe first, filtered by what the user saved in their session.

Filters are posted to ``/filter`` and kept server-side; only the page number (``?sida=N``) is in the URL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from index import REVIEW_STATUSES, NotFoundError, SearchQuery, StoredPost
from review.accounts import Session
from review.filters import FilterState, describe, form_defaults, form_values, parse_form, to_query
from review.routes.posts import ActionError, excerpt, may_see_personal_data, post_href, review_update
from review.web import ANY_ROLE, csrf_checked, render, services
from vaktpost.schema import LABELS

router = APIRouter()

BULK_ACTIONS = ("confirm", "dismiss", "escalate", "assign", "unassign")
MAX_BULK = 1000
DEEPEST = 10_000  # how far into a result list a page may start (Elasticsearch's default result window)


@dataclass(frozen=True)
class QueueRow:
    id: str
    href: str
    created_at: datetime
    source: str
    author: str
    excerpt: str
    labels: list[tuple[str, float]]  # (label, score) of what the post is labelled with now
    corrected: bool
    status: str
    assignee: str | None


def queue_row(stored: StoredPost, *, show_personal_data: bool) -> QueueRow:
    return QueueRow(
        id=stored.post.id,
        href=post_href(stored.post.id),
        created_at=stored.post.created_at,
        source=stored.post.source,
        author=stored.post.author_name or "–",
        excerpt=excerpt(stored, show_personal_data=show_personal_data),
        labels=[(label, stored.verdict.scores.get(label, 0.0)) for label in stored.labels],
        corrected=stored.corrected_labels is not None,
        status=stored.review_status,
        assignee=stored.assignee,
    )


def _page_number(raw: str) -> int:
    try:
        return max(1, min(int(raw), 1_000_000))
    except ValueError:
        return 1


def _baseline(state: dict[str, Any]) -> datetime | None:
    value = state.get("visit_baseline")
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@router.get("/")
def queue(
    request: Request, session: Annotated[Session, Depends(ANY_ROLE)], sida: Annotated[str, Query()] = "1"
) -> Response:
    app = services(request)
    user = session.user
    state = dict(session.state)
    # Shown once: messages from the last filter change or bulk action.
    errors = state.pop("filter_errors", None)
    notice = state.pop("notice", None)
    changed = errors is not None or notice is not None
    # "New since your last visit" counts from the user's last visit before this session began, so that it
    # does not drop to zero when they move to the next page.
    if "visit_baseline" not in state:
        state["visit_baseline"] = user.last_visit.isoformat() if user.last_visit else None
        changed = True
    if changed:
        app.accounts.save_state(session.token, state)

    saved = state.get("filters")
    filters: FilterState = saved if isinstance(saved, dict) else {}
    may_filter_staff = may_see_personal_data(user)
    size = app.settings.review.page_size
    query = to_query(filters, may_filter_staff=may_filter_staff, limit=size)
    page_number = min(_page_number(sida), max(1, DEEPEST // size))
    result = app.store.search(replace(query, offset=(page_number - 1) * size))
    pages = max(1, math.ceil(result.total / size))
    if page_number > pages:
        page_number = pages
        result = app.store.search(replace(query, offset=(page_number - 1) * size))

    baseline = _baseline(state)
    new_count: int | None = None
    if baseline is not None:
        since = max(query.since, baseline) if query.since else baseline
        new_count = app.store.search(replace(query, since=since, limit=1, offset=0)).total

    show = may_see_personal_data(user)
    sources = set(app.store.counts(SearchQuery(), "source")) | {s.name for s in app.settings.enabled_sources}
    form = form_defaults(filters, may_filter_staff=may_filter_staff)
    sources |= set(form["sources"])
    context = {
        "rows": [queue_row(item, show_personal_data=show) for item in result.items],
        "total": result.total,
        "page": page_number,
        "pages": pages,
        "page_size": size,
        "new_count": new_count,
        "baseline": baseline,
        "errors": errors if isinstance(errors, list) else [],
        "notice": notice if isinstance(notice, str) else None,
        "form": form,
        "described": describe(filters, may_filter_staff=may_filter_staff) if filters else [],
        "may_filter_staff": may_filter_staff,
        "all_labels": list(LABELS),
        "all_sources": sorted(str(source) for source in sources),
        "all_statuses": list(REVIEW_STATUSES),
    }
    response = render(request, "queue.html", context)
    app.accounts.mark_visit(user.name)
    return response


@router.post("/filter")
async def save_filters(
    request: Request, session: Annotated[Session, Depends(csrf_checked("reviewer", "safety"))]
) -> Response:
    app = services(request)
    parsed = parse_form(form_values(await request.form()), may_filter_staff=may_see_personal_data(session.user))
    state = dict(session.state)
    state["filters"] = parsed.state
    if parsed.errors:
        state["filter_errors"] = parsed.errors
    else:
        state.pop("filter_errors", None)
    app.accounts.save_state(session.token, state)
    return RedirectResponse("/", status_code=303)


@router.post("/massatgard")
def bulk_action(
    request: Request,
    session: Annotated[Session, Depends(csrf_checked("reviewer", "safety"))],
    action: Annotated[str, Form()] = "",
    post_id: Annotated[list[str] | None, Form()] = None,
    assignee: Annotated[str, Form()] = "",
) -> Response:
    app = services(request)
    if action not in BULK_ACTIONS:
        raise HTTPException(status_code=400, detail="Okänd massåtgärd.")
    ids = list(dict.fromkeys(post_id or []))
    if len(ids) > MAX_BULK:
        raise HTTPException(status_code=400, detail=f"Välj högst {MAX_BULK} inlägg åt gången.")
    try:
        update = review_update(
            action, actor=session.user.name, accounts=app.accounts, labels=[], assignee=assignee, note=""
        )
    except ActionError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    done = missing = 0
    for one in ids:
        try:
            app.store.review(one, session.user.name, update)  # the store audits each change
            done += 1
        except NotFoundError:
            missing += 1
    if not ids:
        notice = "Inga inlägg valda: markera inläggen först."
    else:
        notice = f"{done} inlägg uppdaterade."
        if missing:
            notice += f" {missing} fanns inte längre (de kan ha rensats)."
    app.accounts.save_state(session.token, {**session.state, "notice": notice})
    return RedirectResponse("/", status_code=303)
