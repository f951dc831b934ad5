"""Build an evidence package: one ZIP with everything the police need about one post, and its digests.

Contents (see docs/evidence.md): ``original.warc.gz`` (the captured response, byte for byte), ``text.txt``,
``sammanfattning.html``, ``chain-of-custody.json`` and ``.txt``, ``manifest.json`` (the facts and the SHA-256 and
size of every other file) and ``SHA256SUMS`` (every file, the manifest included, in ``sha256sum`` format).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
import socket
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from crawlers import verify_evidence
from evidence.documents import Export, custody, custody_text, post_text, summary, to_json
from evidence.errors import EvidenceError
from evidence.names import both_zones
from evidence.record import copy_record
from index import AuditEntry, Store, StoredPost
from vaktpost import __version__

FORMAT = "vaktpost-evidence-package"
FORMAT_VERSION = 1
ORIGINAL = "original.warc.gz"
TEXT = "text.txt"
SUMMARY = "sammanfattning.html"
CUSTODY_JSON = "chain-of-custody.json"
CUSTODY_TEXT = "chain-of-custody.txt"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
PACKAGE_FILES = (ORIGINAL, TEXT, SUMMARY, CUSTODY_JSON, CUSTODY_TEXT, MANIFEST, SUMS)
"""Every file of a package, in the order they are written."""
AUDIT_ACTION = "evidence_export"
MAX_REASON = 2000
AUDIT_PAGE = 1000


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_id(post_id: str) -> str:
    """A post id as a file name part: "flashback:123" -> "flashback_123"."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", post_id).strip("._")[:100] or "inlagg"


def default_exporter() -> str:
    """The operating-system user running the command."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "okänd"


def sums_file(digests: dict[str, str]) -> bytes:
    """``sha256sum`` format: "<digest>  <name>", one file a line."""
    return "".join(f"{digest}  {name}\n" for name, digest in digests.items()).encode("ascii")


@dataclass(frozen=True)
class _Member:
    name: str
    data: bytes

    @property
    def entry(self) -> dict[str, Any]:
        return {"sha256": sha256(self.data), "size": len(self.data)}


def _audit_trail(store: Store, post_id: str) -> list[AuditEntry]:
    """The post's whole audit log, oldest first."""
    entries: list[AuditEntry] = []
    while True:
        page = store.audit_log(post_id=post_id, limit=AUDIT_PAGE, offset=len(entries))
        entries += page
        if len(page) < AUDIT_PAGE:
            return entries[::-1]


def _manifest(
    stored: StoredPost, export: Export, *, payload_at_export: str, payload_matches: bool, files: list[_Member]
) -> dict[str, Any]:
    post, verdict = stored.post, stored.verdict
    evidence = post.evidence
    assert evidence is not None
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "post": {
            "id": post.id,
            "source": post.source,
            "url": post.url,
            "created_at": both_zones(post.created_at),
            "collected_at": both_zones(post.collected_at),
        },
        "capture": {
            "file": ORIGINAL,
            "source_warc_file": evidence.warc_file,
            "offset": evidence.offset,
            "record_id": evidence.record_id,
            "target_uri": evidence.target_uri,
            "fetched_at": both_zones(evidence.fetched_at),
            "payload_sha256": evidence.sha256,
            "payload_sha256_at_export": payload_at_export,
            "payload_sha256_matches": payload_matches,
        },
        "collector": {"name": "vaktpost", "version": __version__},
        "analysis": {
            "analysed_at": both_zones(verdict.analysed_at),
            "models": dict(verdict.model),
            "flags": list(verdict.flags),
            "scores": dict(verdict.scores),
            "exposures": [
                {
                    "person": e.person,
                    "exposed": list(e.exposed),
                    "severity": str(e.severity),
                    "score": e.score,
                    "solicitation": e.solicitation,
                }
                for e in verdict.exposures
            ],
        },
        "review": {"status": stored.review_status, "corrected_labels": stored.corrected_labels},
        "export": {"at": both_zones(export.at), "by": export.by, "tool": export.tool, "package": export.package},
        "files": {member.name: member.entry for member in files},
    }


def _zip(members: list[_Member], at: datetime) -> bytes:
    buffer = BytesIO()
    stamp = at.astimezone(UTC).timetuple()[:6]
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            info = zipfile.ZipInfo(member.name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED if member.name.endswith(".gz") else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.data)
    return buffer.getvalue()


def _free_path(out_dir: Path, stem: str) -> Path:
    """``stem.zip`` in ``out_dir``, or ``stem-2.zip`` and so on when a package of that name exists."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 100):
        path = out_dir / (f"{stem}.zip" if attempt == 1 else f"{stem}-{attempt}.zip")
        if not path.exists():
            return path
    raise EvidenceError("bad_request", f"too many packages named {stem}*.zip in {out_dir}")


def _write_new(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet; nothing is left behind when writing fails."""
    with path.open("xb") as handle:
        try:
            handle.write(data)
        except BaseException:
            path.unlink(missing_ok=True)
            raise


def build_package(
    store: Store,
    data_dir: Path,
    post_id: str,
    *,
    exported_by: str,
    reason: str,
    out_dir: Path,
    host: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Build the evidence package of a post into ``out_dir`` and return its path
    (``vaktpost-bevis-<post id>-<UTC time>.zip``). The export is written to the store's audit log, with the
    ZIP's SHA-256 and no personal data. Raises EvidenceError (see its codes) when it cannot be built."""
    exported_by, reason = exported_by.strip(), reason.strip()
    if not exported_by:
        raise EvidenceError("bad_request", "say who exports the package")
    if not reason:
        raise EvidenceError("bad_request", "say why the package is exported (the reason goes into the package)")
    if len(reason) > MAX_REASON:
        raise EvidenceError("bad_request", f"the reason may be at most {MAX_REASON} characters")
    stored = store.get(post_id)
    if stored is None:
        raise EvidenceError("unknown_post", f"no post {post_id!r} in the store (it may have been purged)")
    evidence = stored.post.evidence
    if evidence is None:
        raise EvidenceError("no_evidence", f"post {post_id!r} has no captured evidence")
    copied = copy_record(data_dir, evidence)
    payload_matches = verify_evidence(data_dir, evidence) and copied.record.payload_sha256 == evidence.sha256

    at = (now or datetime.now(UTC)).astimezone(UTC)
    path = _free_path(out_dir, f"vaktpost-bevis-{safe_id(post_id)}-{at:%Y%m%dT%H%M%SZ}")
    export = Export(
        by=exported_by,
        at=at,
        reason=reason,
        host=host or socket.gethostname(),
        tool=f"Vaktpost {__version__}",
        package=path.name,
    )
    trail = _audit_trail(store, post_id)
    original_sha256 = sha256(copied.data)
    files = [
        _Member(ORIGINAL, copied.data),
        _Member(TEXT, post_text(stored)),
        _Member(
            SUMMARY,
            summary(stored, copied, export, payload_matches=payload_matches, original_sha256=original_sha256),
        ),
        _Member(CUSTODY_JSON, to_json(custody(stored, trail, copied, export))),
        _Member(CUSTODY_TEXT, custody_text(stored, trail, copied, export)),
    ]
    manifest = _Member(
        MANIFEST,
        to_json(
            _manifest(
                stored,
                export,
                payload_at_export=copied.record.payload_sha256,
                payload_matches=payload_matches,
                files=files,
            )
        ),
    )
    members = [*files, manifest]
    members.append(_Member(SUMS, sums_file({m.name: sha256(m.data) for m in members})))
    data = _zip(members, at)
    _write_new(path, data)
    detail = {"sha256": sha256(data), "size": len(data), "payload_verified": payload_matches}
    store.audit(exported_by, AUDIT_ACTION, post_id, json.dumps(detail))
    return path
