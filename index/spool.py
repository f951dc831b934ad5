"""The durable spool: analysed posts the store could not take wait here, on disk, for the next run.

When the store is down or fails mid-run, each batch that could not be written becomes one segment file
(JSON lines, written to a temporary name, fsync'd, renamed, directory fsync'd), so a crash at any point
leaves either a whole segment or none. ``deliver`` upserts the segments in order before a run does
anything else and removes each only after the store accepted it. Upserts are keyed by ``Post.id``, so a
crash between the two re-delivers a segment without duplicating a post: every post arrives exactly once.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from index.store import Store, StoreError
from vaktpost.schema import AnalysedPost

SUFFIX = ".jsonl"


class SpoolError(RuntimeError):
    """A segment cannot be read back; it is left in place (nothing is deleted) and named in the message."""


@dataclass(frozen=True)
class Delivery:
    segments: int = 0
    posts: int = 0
    new: int = 0
    errors: list[str] = field(default_factory=list)


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def append(self, items: Sequence[AnalysedPost], run_id: str) -> Path | None:
        """Write one segment holding ``items``; returns its path once it is durable on disk."""
        if not items:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
        temporary = self.directory / f".{name}.tmp"
        final = self.directory / f"{name}{SUFFIX}"
        with temporary.open("w", encoding="utf-8") as out:
            for item in items:
                out.write(json.dumps({"run_id": run_id, "item": item.model_dump(mode="json")}, ensure_ascii=False))
                out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        temporary.rename(final)
        _fsync_dir(self.directory)
        return final

    def segments(self) -> list[Path]:
        """Complete segments, oldest first (half-written temporary files from a crash are not segments)."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(f"*{SUFFIX}"))

    def pending(self) -> int:
        """How many posts wait in the spool."""
        return sum(sum(1 for line in path.open(encoding="utf-8") if line.strip()) for path in self.segments())

    def read(self, segment: Path) -> list[tuple[str, AnalysedPost]]:
        entries = []
        with segment.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                    entries.append((str(raw["run_id"]), AnalysedPost.model_validate(raw["item"])))
                except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as err:
                    raise SpoolError(f"{segment}:{number}: cannot read a spooled post: {err}") from err
        return entries

    def deliver(self, store: Store) -> Delivery:
        """Upsert every segment, oldest first, deleting each once stored. A segment that cannot be read is
        kept and reported; a store failure stops delivery (the rest waits for the next run) and is raised."""
        delivered = posts = new = 0
        problems: list[str] = []
        for segment in self.segments():
            try:
                entries = self.read(segment)
            except SpoolError as err:
                problems.append(str(err))
                continue
            by_run: dict[str, list[AnalysedPost]] = {}
            for run_id, item in entries:
                by_run.setdefault(run_id, []).append(item)
            for run_id, items in by_run.items():
                new += len(store.upsert(items, run_id=run_id).new)
            segment.unlink()
            _fsync_dir(self.directory)
            delivered += 1
            posts += len(entries)
        return Delivery(segments=delivered, posts=posts, new=new, errors=problems)


class SpoolingWriter:
    """Where a run writes analysed posts: the store while it works, the spool from its first failure on
    (or from the start when it could not be opened). Later batches skip a store that already failed, so a
    run does not wait out a timeout per batch."""

    def __init__(self, store: Store | None, spool: Spool, run_id: str) -> None:
        self.store = store
        self.spool = spool
        self.run_id = run_id
        self.spooled = 0
        self.failure: str | None = None if store is not None else "the store could not be opened"

    @property
    def store_ok(self) -> bool:
        return self.store is not None and self.failure is None

    def write(self, items: Sequence[AnalysedPost]) -> bool:
        """True when the store took the items, False when they went to the spool."""
        if self.store is not None and self.failure is None:
            try:
                self.store.upsert(items, run_id=self.run_id)
                return True
            except StoreError as err:
                self.failure = str(err)
        self.spool.append(items, self.run_id)
        self.spooled += len(items)
        return False
