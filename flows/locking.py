"""One run per data dir: an exclusive ``flock`` on ``<data_dir>/run.lock`` held for the length of the run.

``flock`` rather than a pid file: the kernel drops the lock when its holder exits in any way, SIGKILL
included, so a killed run never blocks the next one and there is nothing stale to clean up.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

LOCK_NAME = "run.lock"


class RunLockedError(RuntimeError):
    """Another run holds the data dir's lock."""

    def __init__(self, path: Path, holder: dict[str, object]) -> None:
        self.path = path
        self.holder = holder
        who = ", ".join(f"{key} {holder[key]}" for key in ("run_id", "pid", "started_at") if key in holder)
        super().__init__(
            f"another run holds the lock {path} ({who or 'holder unknown'}); "
            "it was not started twice: wait for that run to finish"
        )


def holder(path: Path) -> dict[str, object]:
    """What the lock file says about the run holding it (empty when unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextmanager
def run_lock(data_dir: Path, run_id: str, wait_s: float = 0.0, poll_s: float = 0.2) -> Iterator[Path]:
    """Hold the data dir's run lock; raises ``RunLockedError`` when another run still holds it after ``wait_s``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    handle: IO[str] = path.open("a+", encoding="utf-8")
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RunLockedError(path, holder(path)) from None
                time.sleep(poll_s)
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps({"run_id": run_id, "pid": os.getpid(), "started_at": datetime.now(UTC).isoformat()}) + "\n"
        )
        handle.flush()
        try:
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()
