"""The documents in a package besides the original: the post's text, the chain of custody and the summary.

Everything here is built from what the store holds; nothing is redacted: a package is for the police, and the
personal data a post exposes is part of what is reported. The summary is rendered with autoescaping, so what
strangers wrote is always text, never markup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from evidence.names import ACTION_NAMES, both_zones, stockholm, utc
from evidence.record import CopiedRecord
from index import AuditEntry, StoredPost
from vaktpost.schema import LABELS
from vaktpost.swedish import LABEL_NAMES, PII_NAMES, SEVERITY_NAMES, STATUS_NAMES

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Export:
    """Who made a package, when, why and where."""

    by: str
    at: datetime
    reason: str
    host: str
    tool: str  # "Vaktpost 0.1.0"
    package: str  # the ZIP's file name


def to_json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# -- text.txt --------------------------------------------------------------------------------------


def post_text(stored: StoredPost) -> bytes:
    """The post as extracted and stored: its fields, then its own text, then what it quoted."""
    post = stored.post
    lines = [
        f"Inlägg: {post.id}",
        f"Källa: {post.source}",
        f"Adress: {post.url}",
        f"Rubrik: {post.title or '–'}",
        f"Författare (visningsnamn): {post.author_name or '–'}",
        f"Författare (pseudonym): {post.author_id or '–'}",
        f"Skapat: {stockholm(post.created_at)} ({post.created_at.isoformat()})",
        f"Insamlat: {stockholm(post.collected_at)} ({post.collected_at.isoformat()})",
    ]
    if post.thread_id:
        lines.append(f"Tråd: {post.thread_id}")
    if post.reply_to:
        lines.append(f"Svar på: {post.reply_to}")
    if post.forwarded_from:
        lines.append(f"Vidarebefordrat från: {post.forwarded_from}")
    lines += ["", "--- Text ---", post.text]
    if post.quoted_text:
        lines += ["", "--- Citerat från andra ---", post.quoted_text]
    return ("\n".join(lines) + "\n").encode("utf-8")


# -- chain of custody ------------------------------------------------------------------------------


def custody(stored: StoredPost, trail: Sequence[AuditEntry], copied: CopiedRecord, export: Export) -> dict[str, Any]:
    """Who has had the post and its evidence, from the capture to this export. ``trail`` is oldest first."""
    post, verdict = stored.post, stored.verdict
    evidence = post.evidence
    assert evidence is not None
    return {
        "post_id": post.id,
        "export": {
            "by": export.by,
            "at": both_zones(export.at),
            "reason": export.reason,
            "host": export.host,
            "tool": export.tool,
            "package": export.package,
        },
        "capture": {
            "at": both_zones(evidence.fetched_at),
            "software": copied.software,
            "target_uri": evidence.target_uri,
            "source_warc_file": evidence.warc_file,
            "offset": evidence.offset,
            "record_id": evidence.record_id,
        },
        "collected_at": both_zones(post.collected_at),
        "analysis": {"at": both_zones(verdict.analysed_at), "models": dict(verdict.model)},
        "review": {
            "status": stored.review_status,
            "reviewed_by": stored.reviewed_by,
            "reviewed_at": both_zones(stored.reviewed_at) if stored.reviewed_at else None,
            "assignee": stored.assignee,
            "corrected_labels": stored.corrected_labels,
        },
        "notes": [{"at": both_zones(note.at), "author": note.author, "text": note.text} for note in stored.notes],
        "audit_trail": [
            {"at": both_zones(entry.at), "actor": entry.actor, "action": entry.action, "detail": entry.detail}
            for entry in trail
        ],
    }


def custody_text(stored: StoredPost, trail: Sequence[AuditEntry], copied: CopiedRecord, export: Export) -> bytes:
    """The chain of custody for people to read (Swedish; the JSON file says the same)."""
    post, verdict = stored.post, stored.verdict
    evidence = post.evidence
    assert evidence is not None
    models = ", ".join(f"{name} {version}" for name, version in sorted(verdict.model.items())) or "–"
    lines = [
        f"Spårbarhetskedja för inlägg {post.id}",
        "",
        "Export",
        f"  Exporterat av: {export.by}",
        f"  Tidpunkt: {stockholm(export.at)} ({utc(export.at)})",
        f"  Skäl: {export.reason}",
        f"  Dator: {export.host}",
        f"  Program: {export.tool}",
        f"  Paket: {export.package}",
        "",
        "Insamling",
        f"  Hämtat: {stockholm(evidence.fetched_at)} ({utc(evidence.fetched_at)})",
        f"  Adress: {evidence.target_uri}",
        f"  Insamlat av: {copied.software or 'okänt program'}",
        f"  WARC-fil: {evidence.warc_file}, position {evidence.offset}",
        f"  WARC-post: {evidence.record_id}",
        f"  Lagrat i Vaktpost: {stockholm(post.collected_at)} ({utc(post.collected_at)})",
        "",
        "Analys",
        f"  Analyserat: {stockholm(verdict.analysed_at)} ({utc(verdict.analysed_at)})",
        f"  Modeller: {models}",
        "",
        "Granskning",
        f"  Status: {STATUS_NAMES.get(stored.review_status, stored.review_status)}",
    ]
    if stored.reviewed_by:
        lines.append(f"  Senast granskat: {stockholm(stored.reviewed_at)} av {stored.reviewed_by}")
    if stored.assignee:
        lines.append(f"  Tilldelat: {stored.assignee}")
    if stored.corrected_labels is not None:
        corrected = ", ".join(LABEL_NAMES[label] for label in stored.corrected_labels) or "inga"
        lines.append(f"  Rättade etiketter: {corrected}")
    lines += ["", "Anteckningar"]
    lines += [f"  {stockholm(n.at)} {n.author}: {n.text}" for n in stored.notes] or ["  –"]
    lines += ["", "Händelselogg (äldst först)"]
    lines += [
        f"  {stockholm(e.at)} {e.actor}: {ACTION_NAMES.get(e.action, e.action)}{f' ({e.detail})' if e.detail else ''}"
        for e in trail
    ] or ["  –"]
    return ("\n".join(lines) + "\n").encode("utf-8")


# -- sammanfattning.html ---------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE),
        autoescape=True,  # post text, names and URLs come from strangers: always text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(stockholm=stockholm, utc=utc, decimal=lambda value: f"{value:.2f}".replace(".", ","))
    return environment


def summary(
    stored: StoredPost, copied: CopiedRecord, export: Export, *, payload_matches: bool, original_sha256: str
) -> bytes:
    """The printable Swedish summary for a police report."""
    post, verdict = stored.post, stored.verdict
    labels = stored.corrected_labels if stored.corrected_labels is not None else verdict.flags
    exposures = [
        {
            "who": (
                f"Skyddad personal (bevakningslistans id {e.person.removeprefix('watchlist:')})"
                if e.person.startswith("watchlist:")
                else "Personal inom socialtjänsten"
            ),
            "named_as": e.name.text if e.name else None,
            "exposed": [PII_NAMES.get(kind, kind) for kind in e.exposed],
            "severity": SEVERITY_NAMES.get(str(e.severity), str(e.severity)),
            "score": e.score,
            "solicitation": e.solicitation,
        }
        for e in verdict.exposures
    ]
    context = {
        "post": post,
        "verdict": verdict,
        "stored": stored,
        "evidence": post.evidence,
        "record": copied.record,
        "software": copied.software,
        "labels": [LABEL_NAMES.get(label, label) for label in labels],
        "corrected": stored.corrected_labels is not None,
        "scores": [(LABEL_NAMES[label], verdict.scores.get(label, 0.0), label in verdict.flags) for label in LABELS],
        "exposures": exposures,
        "status": STATUS_NAMES.get(stored.review_status, stored.review_status),
        "export": export,
        "payload_matches": payload_matches,
        "original_sha256": original_sha256,
        "models": sorted(verdict.model.items()),
    }
    return _environment().get_template("sammanfattning.html").render(context).encode("utf-8")
