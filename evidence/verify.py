"""Check an evidence package: recompute every digest and say, file by file, what still matches.

Every file but ``SHA256SUMS`` has two witnesses to its digest: its line in ``SHA256SUMS`` and its entry in
``manifest.json`` (the manifest itself has only the first). A file whose digest no witness confirms is
CHANGED; a file every witness confirms is OK; when only one witness confirms it, the other witness (the sums
file or the manifest) is what was changed. The captured response's payload is then checked against the
SHA-256 the manifest says was recorded when it was captured.

A package that checks out was not altered after it was built, or was rebuilt whole: the digests detect
changes, they do not sign. Compare the ZIP's SHA-256 with the one in the store's audit log to rule out the latter.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from evidence.errors import EvidenceError
from evidence.package import MANIFEST, ORIGINAL, SUMS
from evidence.record import CHUNK, MAX_RECORD, parse_record

SUMS_LINE = re.compile(r"^([0-9a-f]{64}) [ *](\S.*)$")


class Status(StrEnum):
    OK = "OK"
    CHANGED = "CHANGED"
    MISSING = "MISSING"
    UNEXPECTED = "UNEXPECTED"
    UNCHECKED = "UNCHECKED"  # present, but nothing left in the package to check it against


@dataclass(frozen=True)
class FileCheck:
    name: str
    status: Status
    expected_sha256: str | None = None
    actual_sha256: str | None = None
    note: str = ""


@dataclass(frozen=True)
class PayloadCheck:
    """The captured response's body against the digest recorded at capture time (from the manifest)."""

    expected_sha256: str | None
    actual_sha256: str | None
    record_id: str | None
    ok: bool
    note: str = ""


@dataclass(frozen=True)
class VerificationReport:
    path: Path
    files: list[FileCheck]
    payload: PayloadCheck
    manifest: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def intact(self) -> bool:
        return self.payload.ok and all(check.status is Status.OK for check in self.files)

    @property
    def statuses(self) -> dict[str, Status]:
        return {check.name: check.status for check in self.files}

    @property
    def post_id(self) -> str | None:
        post = (self.manifest or {}).get("post")
        return str(post.get("id")) if isinstance(post, dict) and post.get("id") is not None else None


@dataclass(frozen=True)
class _Member:
    digest: str | None  # None: the ZIP entry cannot be read (bad CRC, bad compression)
    size: int
    error: str = ""


def _read_members(archive: zipfile.ZipFile) -> tuple[dict[str, _Member], list[str]]:
    """Digest of every file in the ZIP, and the names that occur more than once."""
    members: dict[str, _Member] = {}
    for info in archive.infolist():
        if info.is_dir() or info.filename in members:
            continue
        digest = hashlib.sha256()
        size = 0
        try:
            with archive.open(info) as handle:
                while block := handle.read(CHUNK):
                    digest.update(block)
                    size += len(block)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
            members[info.filename] = _Member(None, info.file_size, f"unreadable: {type(error).__name__}")
            continue
        members[info.filename] = _Member(digest.hexdigest(), size)
    counts = Counter(info.filename for info in archive.infolist() if not info.is_dir())
    return members, sorted(name for name, count in counts.items() if count > 1)


def _parse_sums(data: bytes) -> tuple[dict[str, str], bool]:
    """(name -> digest, whether every line is well formed and names a file once)."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return {}, False
    sums: dict[str, str] = {}
    well_formed = text.endswith("\n")
    for line in text.removesuffix("\n").split("\n"):  # not splitlines(): it also splits at \v, \f, \x1c...
        found = SUMS_LINE.match(line)
        if found is None or found.group(2) in sums:
            well_formed = False
            continue
        sums[found.group(2)] = found.group(1)
    return sums, well_formed


def _parse_manifest(data: bytes) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """The manifest, and its file entries, when it is a JSON object with well-formed entries."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, {}
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return None, {}
    entries = {
        name: entry
        for name, entry in manifest["files"].items()
        if isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
    }
    if len(entries) != len(manifest["files"]):
        return None, {}
    return manifest, entries


def _payload(archive: zipfile.ZipFile, member: _Member | None, manifest: dict[str, Any] | None) -> PayloadCheck:
    capture = (manifest or {}).get("capture")
    capture = capture if isinstance(capture, dict) else {}
    expected = capture.get("payload_sha256") if isinstance(capture.get("payload_sha256"), str) else None
    expected_id = capture.get("record_id") if isinstance(capture.get("record_id"), str) else None
    if member is None or member.digest is None or member.size > MAX_RECORD:
        return PayloadCheck(expected, None, None, False, f"{ORIGINAL} is missing or unreadable")
    try:
        record = parse_record(archive.read(ORIGINAL))
    except EvidenceError:
        return PayloadCheck(expected, None, None, False, f"{ORIGINAL} is not a readable WARC record")
    if expected is None or expected_id is None:
        return PayloadCheck(expected, record.payload_sha256, record.record_id, False, "the manifest gives no digest")
    if record.record_id != expected_id:
        note = "the WARC record is not the one the manifest names"
        return PayloadCheck(expected, record.payload_sha256, record.record_id, False, note)
    if record.payload_sha256 != expected:
        note = "the captured body differs from what was recorded at capture"
        if capture.get("payload_sha256_matches") is False:
            note += " (it already did when the package was built)"
        return PayloadCheck(expected, record.payload_sha256, record.record_id, False, note)
    return PayloadCheck(expected, record.payload_sha256, record.record_id, True)


def verify_package(zip_path: Path) -> VerificationReport:
    """Recompute every digest of a package. Raises EvidenceError("unreadable") when it is not a readable ZIP."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members, duplicates = _read_members(archive)
            sums_member, manifest_member = members.get(SUMS), members.get(MANIFEST)
            sums, sums_ok = _parse_sums(archive.read(SUMS)) if sums_member and sums_member.digest else ({}, True)
            manifest, entries = (
                _parse_manifest(archive.read(MANIFEST)) if manifest_member and manifest_member.digest else (None, {})
            )
            payload = _payload(archive, members.get(ORIGINAL), manifest)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as error:
        raise EvidenceError("unreadable", f"{zip_path} is not a readable ZIP file: {type(error).__name__}") from error

    # What the package should hold: the files the manifest lists, unless SHA256SUMS shows the manifest changed;
    # then (or without a readable manifest) the files SHA256SUMS lists. The manifest and SHA256SUMS besides.
    sums_manifest, manifest_digest = sums.get(MANIFEST), manifest_member.digest if manifest_member else None
    confirmed = manifest is not None and sums_manifest in (None, manifest_digest)
    listed = list(entries) if manifest is not None and (confirmed or not sums) else list(sums)
    expected = [name for name in listed if name not in (MANIFEST, SUMS)] + [MANIFEST]
    faulty: dict[str, str] = {}  # witness file -> why it is judged changed
    if sums_member is not None and not sums_ok:
        faulty[SUMS] = "malformed lines"
    if manifest_member is not None and manifest is None:
        faulty[MANIFEST] = "not a valid manifest"
    if stray := [name for name in sums if name not in expected]:
        faulty.setdefault(SUMS, f"lists files the manifest does not: {', '.join(stray)}")
    if stray := [name for name in entries if name not in expected]:
        faulty.setdefault(MANIFEST, f"lists files SHA256SUMS does not: {', '.join(stray)}")

    checks: list[FileCheck] = []
    for name in expected:
        member = members.get(name)
        witnesses = {SUMS: sums.get(name)}
        if name != MANIFEST:
            entry = entries.get(name)
            witnesses[MANIFEST] = entry["sha256"] if entry else None
        reference = witnesses.get(SUMS) or witnesses.get(MANIFEST)
        if member is None:
            checks.append(FileCheck(name, Status.MISSING, reference))
            continue
        if member.digest is None:
            checks.append(FileCheck(name, Status.CHANGED, reference, None, member.error))
            continue
        present = {witness: digest for witness, digest in witnesses.items() if digest is not None}
        agreeing = [witness for witness, digest in present.items() if digest == member.digest]
        if not present:
            checks.append(FileCheck(name, Status.UNCHECKED, None, member.digest, "no digest left to check against"))
        elif not agreeing:
            note = "differs from its line in SHA256SUMS (or that line was changed)" if name == MANIFEST else ""
            checks.append(FileCheck(name, Status.CHANGED, reference, member.digest, note))
        else:
            checks.append(FileCheck(name, Status.OK, member.digest, member.digest))
            for witness in present.keys() - set(agreeing):
                faulty.setdefault(witness, f"its digest of {name} is wrong")
        entry = entries.get(name) if name != MANIFEST else None
        if agreeing and entry is not None and entry.get("size") != member.size:
            faulty.setdefault(MANIFEST, f"its size of {name} is wrong")
        if sums_member is not None and sums_member.digest is not None and SUMS not in faulty and name not in sums:
            faulty[SUMS] = f"does not list {name}"

    if sums_member is None:
        checks.append(FileCheck(SUMS, Status.MISSING))
    else:
        status = Status.CHANGED if SUMS in faulty or sums_member.digest is None else Status.OK
        checks.append(FileCheck(SUMS, status, None, sums_member.digest, faulty.get(SUMS, sums_member.error)))
    if MANIFEST in faulty:
        checks = [
            FileCheck(c.name, Status.CHANGED, c.expected_sha256, c.actual_sha256, faulty[MANIFEST])
            if c.name == MANIFEST and c.status is not Status.MISSING
            else c
            for c in checks
        ]
    known = {*expected, SUMS}
    for name in sorted(members):
        if name not in known:
            checks.append(FileCheck(name, Status.UNEXPECTED, None, members[name].digest, "not part of the package"))
    for name in duplicates:
        checks.append(FileCheck(name, Status.UNEXPECTED, None, None, "stored more than once in the ZIP"))
    return VerificationReport(path=zip_path, files=checks, payload=payload, manifest=manifest)
