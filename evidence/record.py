"""The captured original: one WARC record, copied byte for byte from the WARC file it was written to.

The evidence writer gzips every record as a member of its own, so the member that starts at the record's
offset is a complete, valid WARC file by itself; a package carries exactly that member as ``original.warc.gz``.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from evidence.errors import EvidenceError
from vaktpost.schema import Evidence

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 16
MAX_RECORD = 1 << 30
"""No response Vaktpost captures comes near this; a member longer than this is not one of ours."""
READ_ERRORS = (OSError, zlib.error, EOFError, ValueError, ArchiveLoadFailed)


@dataclass(frozen=True)
class ParsedRecord:
    """What a package states about its WARC record, read back from the record itself."""

    record_id: str
    record_type: str
    target_uri: str | None
    warc_date: str | None
    payload_sha256: str


@dataclass(frozen=True)
class CopiedRecord:
    data: bytes  # the gzip member, exactly as in the WARC file
    record: ParsedRecord
    software: str | None  # what the WARC file's warcinfo record says wrote it


def parse_record(data: bytes) -> ParsedRecord:
    """The first record of a WARC file (gzipped or not) and the SHA-256 of its HTTP payload, decoded the way
    the crawler's digest was computed. Raises EvidenceError("warc_unreadable") when it cannot be read."""
    try:
        for record in ArchiveIterator(BytesIO(data)):
            headers = record.rec_headers
            digest = hashlib.sha256()
            stream = record.content_stream()
            while block := stream.read(CHUNK):
                digest.update(block)
            return ParsedRecord(
                record_id=headers.get_header("WARC-Record-ID") or "",
                record_type=record.rec_type or "",
                target_uri=headers.get_header("WARC-Target-URI"),
                warc_date=headers.get_header("WARC-Date"),
                payload_sha256=digest.hexdigest(),
            )
    except READ_ERRORS as error:
        raise EvidenceError("warc_unreadable", f"the WARC record cannot be read: {type(error).__name__}") from error
    raise EvidenceError("warc_unreadable", "no WARC record found")


def _gzip_member(handle: BinaryIO) -> bytes:
    """The bytes of the gzip member starting at the handle's position, up to and including its trailer."""
    inflater = zlib.decompressobj(wbits=31)  # one gzip member; what follows it ends up in unused_data
    chunks: list[bytes] = []
    size = 0
    while not inflater.eof:
        block = handle.read(CHUNK)
        if not block:
            raise EOFError("the file ends inside the record")
        chunks.append(block)
        size += len(block)
        if size > MAX_RECORD:
            raise ValueError("the record is implausibly long")
        while block and not inflater.eof:  # inflate in bounded steps: only the member's end matters
            inflater.decompress(block, CHUNK)
            block = inflater.unconsumed_tail
    data = b"".join(chunks)
    return data[: len(data) - len(inflater.unused_data)]


def _warcinfo_software(path: Path) -> str | None:
    """The ``software`` line of the warcinfo record a WARC file starts with, if it has one."""
    try:
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type != "warcinfo":
                    return None
                for line in record.content_stream().read(CHUNK).decode("utf-8", "replace").splitlines():
                    key, _, value = line.partition(":")
                    if key.strip().lower() == "software":
                        return value.strip() or None
                return None
    except READ_ERRORS:
        return None
    return None


def copy_record(data_dir: Path, evidence: Evidence) -> CopiedRecord:
    """The record an evidence pointer names, copied byte for byte, with what it says about itself.

    Raises EvidenceError: ``warc_missing`` when the WARC file is not in the data dir, ``warc_unreadable`` when
    there is no gzip member at the offset, it cannot be read, or it is another record than the pointer names.
    """
    root = data_dir.resolve()
    path = (root / evidence.warc_file).resolve()
    if not path.is_relative_to(root):
        raise EvidenceError("warc_missing", f"the WARC file {evidence.warc_file!r} is outside the data dir")
    if not path.is_file():
        raise EvidenceError("warc_missing", f"the WARC file {evidence.warc_file!r} is missing from the data dir")
    try:
        with path.open("rb") as handle:
            handle.seek(evidence.offset)
            if handle.read(2) != GZIP_MAGIC:
                raise EvidenceError(
                    "warc_unreadable",
                    f"no gzipped WARC record at offset {evidence.offset} of {evidence.warc_file!r}",
                )
            handle.seek(evidence.offset)
            data = _gzip_member(handle)
    except READ_ERRORS as error:
        raise EvidenceError(
            "warc_unreadable",
            f"the record at offset {evidence.offset} of {evidence.warc_file!r} cannot be read: {type(error).__name__}",
        ) from error
    record = parse_record(data)
    if record.record_id != evidence.record_id:
        raise EvidenceError(
            "warc_unreadable",
            f"the record at offset {evidence.offset} of {evidence.warc_file!r} is not {evidence.record_id}",
        )
    return CopiedRecord(data=data, record=record, software=_warcinfo_software(path))
