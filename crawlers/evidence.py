"""Evidence: the raw responses posts were extracted from, kept in WARC files (ISO 28500) with warcio.

Posts are deleted quickly; what was captured at crawl time is what can later be shown to the police.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from vaktpost import __version__
from vaktpost.schema import Evidence

# Scrapy hands us decoded bodies; headers that describe the transfer encoding no longer apply to them.
_TRANSFER_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class CapturedResponse:
    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    fetched_at: datetime


class WarcEvidenceWriter:
    """Appends one gzipped WARC response record per captured response; records are independently seekable."""

    def __init__(self, data_dir: Path, relative_path: Path) -> None:
        self._data_dir = data_dir
        self._relative = relative_path
        path = data_dir / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: BinaryIO = path.open("ab")
        self._writer = WARCWriter(self._handle, gzip=True)
        if self._handle.tell() == 0:
            self._write_warcinfo()

    def _write_warcinfo(self) -> None:
        info = {"software": f"Vaktpost/{__version__} (Scrapy, warcio)", "format": "WARC File Format 1.1"}
        self._writer.write_record(self._writer.create_warcinfo_record(self._relative.name, info))

    def write(self, response: CapturedResponse) -> Evidence:
        headers = [(k, v) for k, v in response.headers if k.lower() not in _TRANSFER_HEADERS]
        http_headers = StatusAndHeaders(f"{response.status} {response.reason}".strip(), headers, protocol="HTTP/1.1")
        warc_date = response.fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = self._writer.create_warc_record(
            response.url,
            "response",
            payload=BytesIO(response.body),
            length=len(response.body),
            http_headers=http_headers,
            warc_headers_dict={"WARC-Date": warc_date},
        )
        offset = self._handle.tell()
        self._writer.write_record(record)
        self._handle.flush()
        return Evidence(
            warc_file=self._relative.as_posix(),
            record_id=record.rec_headers.get_header("WARC-Record-ID"),
            offset=offset,
            sha256=hashlib.sha256(response.body).hexdigest(),
            target_uri=response.url,
            fetched_at=response.fetched_at,
        )

    def close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()


def read_payload(data_dir: Path, evidence: Evidence) -> bytes:
    """The captured response body an evidence pointer refers to."""
    with (data_dir / evidence.warc_file).open("rb") as handle:
        handle.seek(evidence.offset)
        for record in ArchiveIterator(handle):
            if record.rec_headers.get_header("WARC-Record-ID") != evidence.record_id:
                break
            return bytes(record.content_stream().read())
    raise LookupError(f"record {evidence.record_id} not found at offset {evidence.offset} in {evidence.warc_file}")


def verify(data_dir: Path, evidence: Evidence) -> bool:
    """True when the record exists and its body still has the digest recorded with the post."""
    try:
        payload = read_payload(data_dir, evidence)
    except (OSError, LookupError, ArchiveLoadFailed, zlib.error, EOFError, ValueError):
        return False  # missing, truncated or altered: not the evidence that was captured
    return hashlib.sha256(payload).hexdigest() == evidence.sha256
