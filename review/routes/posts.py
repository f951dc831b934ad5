"""One post: its highlighted text, scores, thread, exposures, evidence and history, and the reviewer's actions.

Who sees what: personal data a post exposes (addresses, phone numbers, ...) and which protected staff member
it concerns are shown to safety officers and admins only; reviewers see "[ADRESS]" and the like. Every view of
a doxxing post is audited, as is every download of the evidence and every evidence package built.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from warcio.archiveiterator import ArchiveIterator

from evidence import EvidenceError, build_package
from index import NotFoundError, ReviewStatus, ReviewUpdate, SearchQuery, StoredPost
from review.accounts import Accounts, Session, User
from review.presentation import Segment, highlight
from review.web import ANY_ROLE, audit, csrf_checked, render, require, services
from vaktpost.schema import LABELS, Evidence, Label
from vaktpost.swedish import LABEL_NAMES, PII_NAMES

router = APIRouter()

STATUS_ACTIONS: dict[str, ReviewStatus] = {"confirm": "confirmed", "dismiss": "dismissed", "escalate": "escalated"}
ACTIONS = (*STATUS_ACTIONS, "correct", "assign", "unassign", "note")
MAX_NOTE = 5000
EXCERPT = 200
THREAD_CONTEXT = 20
HISTORY = 100


# -- shared with the queue and the exports ---------------------------------------------------------


def may_see_personal_data(user: User) -> bool:
    """Exposed personal data and the protected-staff watch-list are for safety officers and admins."""
    return user.can("safety")


def post_href(post_id: str) -> str:
    return "/inlagg/" + quote(post_id, safe="")


def visible_text(stored: StoredPost, *, show_personal_data: bool) -> str:
    """The post's text as the role may see it: exposed values replaced by their kind for reviewers."""
    if show_personal_data:
        return stored.post.text
    return "".join(segment.text for segment in highlight(stored.post.text, stored.verdict, show_personal_data=False))


def excerpt(stored: StoredPost, *, show_personal_data: bool, length: int = EXCERPT) -> str:
    text = " ".join(visible_text(stored, show_personal_data=show_personal_data).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def link_target(url: str) -> str | None:
    """``url`` when it is a web address a browser may be sent to; None for javascript:, data: and the like."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def is_doxxing(stored: StoredPost) -> bool:
    return "doxxing" in stored.verdict.flags or "doxxing" in (stored.corrected_labels or [])


class ActionError(Exception):
    """A review action that cannot be done; the message is Swedish and safe to show."""


def review_update(
    action: str, *, actor: str, accounts: Accounts, labels: list[str], assignee: str, note: str
) -> ReviewUpdate:
    """The store change a review action stands for. Raises ActionError (with a Swedish message)."""
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise ActionError(f"Anteckningen får vara högst {MAX_NOTE} tecken.")
    extra = note or None
    if action in STATUS_ACTIONS:
        return ReviewUpdate(status=STATUS_ACTIONS[action], note=extra)
    if action == "correct":
        unknown = [label for label in labels if label not in LABELS]
        if unknown:
            raise ActionError("Okänd etikett i rättelsen.")
        chosen: list[Label] = [label for label in LABELS if label in labels]
        return ReviewUpdate(corrected_labels=chosen, note=extra)
    if action == "assign":
        name = assignee.strip().lower() or actor
        user = accounts.get_user(name)
        if user is None or user.disabled:
            raise ActionError("Det finns inget aktivt konto med det namnet att tilldela.")
        return ReviewUpdate(assignee=user.name, note=extra)
    if action == "unassign":
        return ReviewUpdate(unassign=True, note=extra)
    if action == "note":
        if not note:
            raise ActionError("Skriv en anteckning först.")
        return ReviewUpdate(note=note)
    raise ActionError("Okänd åtgärd.")


# -- evidence --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceCopy:
    data: bytes
    gzipped: bool
    verified: bool


def read_evidence(data_dir: Path, evidence: Evidence) -> EvidenceCopy:
    """The WARC record a post was extracted from, byte for byte as captured (one record is a valid WARC file
    on its own: the evidence writer gzips each record separately), and whether its payload still has the
    SHA-256 recorded with the post. Raises LookupError when the file or the record is gone."""
    root = data_dir.resolve()
    path = (root / evidence.warc_file).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise LookupError("the WARC file is missing")
    try:
        with path.open("rb") as handle:
            handle.seek(evidence.offset)
            records = ArchiveIterator(handle)
            record = next(iter(records), None)
            if record is None or record.rec_headers.get_header("WARC-Record-ID") != evidence.record_id:
                raise LookupError("no such record at the offset")
            digest = hashlib.sha256(record.content_stream().read()).hexdigest()
            length = int(records.get_record_length())
            handle.seek(evidence.offset)
            data = handle.read(length)
    except (OSError, ValueError, EOFError) as error:
        raise LookupError(f"the record cannot be read: {type(error).__name__}") from error
    return EvidenceCopy(data=data, gzipped=data[:2] == b"\x1f\x8b", verified=digest == evidence.sha256)


def safe_filename(post_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", post_id).strip("._")[:100] or "inlagg"


@router.get("/inlagg/{post_id:path}/bevis")
def download_evidence(
    request: Request, post_id: str, session: Annotated[Session, Depends(require("safety"))]
) -> Response:
    app = services(request)
    stored = app.store.get(post_id)
    if stored is None:
        raise HTTPException(status_code=404, detail="Inlägget finns inte (det kan ha rensats).")
    if stored.post.evidence is None:
        raise HTTPException(status_code=404, detail="Inget bevis finns sparat för inlägget.")
    try:
        copy = read_evidence(app.settings.data_dir, stored.post.evidence)
    except LookupError:
        raise HTTPException(status_code=404, detail="Bevisfilen saknas eller går inte att läsa.") from None
    detail = {"record_id": stored.post.evidence.record_id, "verified": copy.verified}
    audit(request, session, "evidence_download", post_id, json.dumps(detail))
    name = f"{safe_filename(post_id)}.warc{'.gz' if copy.gzipped else ''}"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Vaktpost-Evidence-Verified": "yes" if copy.verified else "no",
    }
    return Response(content=copy.data, media_type="application/warc", headers=headers)


EVIDENCE_PACKAGE_ERRORS = {
    "bad_request": (400, "Skriv varför bevispaketet skapas (högst 2000 tecken)."),
    "unknown_post": (404, "Inlägget finns inte (det kan ha rensats)."),
    "no_evidence": (404, "Inget bevis finns sparat för inlägget."),
    "warc_missing": (404, "Bevisfilen saknas."),
    "warc_unreadable": (404, "Bevisfilen går inte att läsa."),
}


@router.post("/inlagg/{post_id:path}/bevispaket")
def download_evidence_package(
    request: Request,
    post_id: str,
    session: Annotated[Session, Depends(csrf_checked("reviewer", "safety"))],
    _safety: Annotated[Session, Depends(require("safety"))],
    reason: Annotated[str, Form()] = "",
) -> Response:
    """The post's evidence package for the police (a ZIP), built for this request; the builder audits it.
    For safety officers and admins; the CSRF token is checked first, whatever the role (both must pass)."""
    app = services(request)
    with tempfile.TemporaryDirectory(prefix="vaktpost-bevis-") as work:
        try:
            path = build_package(
                app.store,
                app.settings.data_dir,
                post_id,
                exported_by=session.user.name,
                reason=reason,
                out_dir=Path(work),
            )
        except EvidenceError as error:
            status, message = EVIDENCE_PACKAGE_ERRORS.get(error.code, (500, "Bevispaketet kunde inte skapas."))
            raise HTTPException(status_code=status, detail=message) from None
        data = path.read_bytes()
    headers = {"Content-Disposition": f'attachment; filename="{path.name}"'}
    return Response(content=data, media_type="application/zip", headers=headers)


# -- actions ---------------------------------------------------------------------------------------


@router.post("/inlagg/{post_id:path}/granska")
def review_post(
    request: Request,
    post_id: str,
    session: Annotated[Session, Depends(csrf_checked("reviewer", "safety"))],
    action: Annotated[str, Form()] = "",
    labels: Annotated[list[str] | None, Form()] = None,
    assignee: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    app = services(request)
    try:
        update = review_update(
            action, actor=session.user.name, accounts=app.accounts, labels=labels or [], assignee=assignee, note=note
        )
        current = app.store.get(post_id) if action == "correct" else None
        if current is not None and current.review_status == "new":
            update = replace(update, status="confirmed")  # correcting the labels is a decision on the post
        app.store.review(post_id, session.user.name, update)  # the store writes the audit entry
    except ActionError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    except NotFoundError:
        raise HTTPException(status_code=404, detail="Inlägget finns inte (det kan ha rensats).") from None
    return RedirectResponse(post_href(post_id), status_code=303)


# -- the post --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    label: str
    score: float
    flagged: bool
    corrected: bool  # in the reviewers' corrected labels


@dataclass(frozen=True)
class ThreadItem:
    id: str
    href: str
    created_at: datetime
    author: str
    excerpt: str
    labels: list[Label]


def legend(segments: list[Segment]) -> list[tuple[str, str]]:
    """(css class, Swedish name) of every kind of mark in the text, in order of first appearance."""
    seen: dict[str, str] = {}
    for segment in segments:
        for mark in segment.marks:
            name = LABEL_NAMES.get(mark.name) if mark.kind == "label" else PII_NAMES.get(mark.name)
            seen.setdefault(f"{mark.kind}-{mark.name}", name or mark.name)
    return list(seen.items())


@router.get("/inlagg/{post_id:path}")
def view_post(request: Request, post_id: str, session: Annotated[Session, Depends(ANY_ROLE)]) -> Response:
    app = services(request)
    stored = app.store.get(post_id)
    if stored is None:
        raise HTTPException(status_code=404, detail="Inlägget finns inte (det kan ha rensats).")
    if is_doxxing(stored):
        audit(request, session, "view", post_id)
    show = may_see_personal_data(session.user)
    post, verdict = stored.post, stored.verdict
    segments = highlight(post.text, verdict, show_personal_data=show)
    corrected = set(stored.corrected_labels or [])
    scores = [
        Score(label, verdict.scores.get(label, 0.0), label in verdict.flags, label in corrected) for label in LABELS
    ]
    thread: list[ThreadItem] = []
    if post.thread_id:
        page = app.store.search(
            SearchQuery(thread_id=post.thread_id, flagged_only=False, sort="oldest", limit=THREAD_CONTEXT + 1)
        )
        thread = [
            ThreadItem(
                id=item.post.id,
                href=post_href(item.post.id),
                created_at=item.post.created_at,
                author=item.post.author_name or "–",
                excerpt=excerpt(item, show_personal_data=show),
                labels=item.labels,
            )
            for item in page.items
            if item.post.id != post.id
        ][:THREAD_CONTEXT]
    context = {
        "stored": stored,
        "post": post,
        "verdict": verdict,
        "href": post_href(post.id),
        "original": link_target(post.url),
        "segments": segments,
        "legend": legend(segments),
        "scores": scores,
        "thread": thread,
        "show_personal_data": show,
        "history": app.store.audit_log(post_id=post.id, limit=HISTORY),
        "labels": list(LABELS),
        "current_labels": stored.labels,
        "accounts": [user.name for user in app.accounts.users() if not user.disabled],
    }
    return render(request, "post.html", context)
