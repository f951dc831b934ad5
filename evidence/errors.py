"""The one error the evidence package raises, with a code saying what went wrong."""

from __future__ import annotations

from typing import Literal

ErrorCode = Literal["bad_request", "unknown_post", "no_evidence", "warc_missing", "warc_unreadable", "unreadable"]


class EvidenceError(Exception):
    """An evidence package that cannot be built or read. ``code`` says why:

    ``bad_request`` (no exporter or no reason given), ``unknown_post`` (not in the store, perhaps purged),
    ``no_evidence`` (the post has no evidence pointer), ``warc_missing`` (the WARC file is gone),
    ``warc_unreadable`` (the record is not at its offset, or cannot be read), ``unreadable`` (a package that is
    not a readable ZIP file). The message is English and holds no post text.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
