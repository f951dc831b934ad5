"""Pseudonymisation and data minimisation, applied the same way by every stage.

Authors are stored as keyed-hash pseudonyms: stable across runs (so a campaign's accounts can be followed)
but not reversible without the key. Display names are kept only for posts that were flagged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from vaktpost.datadir import DataDir
from vaktpost.schema import AnalysedPost
from vaktpost.settings import Settings

log = logging.getLogger(__name__)

KEY_FILE = "pseudonym.key"


def pseudonym_key(settings: Settings) -> bytes:
    """The key from VAKTPOST_PSEUDONYM_KEY, else one generated once and kept (mode 0600) in the data dir."""
    if settings.pseudonym_key is not None:
        value = settings.pseudonym_key.get_secret_value()
        if len(value) < 16:
            raise ValueError("VAKTPOST_PSEUDONYM_KEY must be at least 16 characters")
        return value.encode("utf-8")
    path = DataDir(settings.data_dir).secrets / KEY_FILE
    if not path.exists():
        _create_key_file(path)
        log.warning("generated a pseudonymisation key in %s; back it up or set VAKTPOST_PSEUDONYM_KEY", path)
    return path.read_bytes().strip()


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))


class Pseudonymiser:
    """Turns a source's native author id into a stable pseudonym."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def author_id(self, source: str, native_author_id: str) -> str:
        digest = hmac.new(self._key, f"{source}:{native_author_id}".encode(), hashlib.sha256)
        return "a" + digest.hexdigest()[:20]


def minimise(item: AnalysedPost) -> AnalysedPost:
    """Drop what the purpose does not need before storing: the display name of unflagged posts."""
    if item.verdict.flags or item.post.author_name is None:
        return item
    return item.model_copy(update={"post": item.post.model_copy(update={"author_name": None})})
