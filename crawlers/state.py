"""Per-source crawl state (watermarks) in the data dir.

A crawl starts from the committed state and writes what it would advance to as *pending* state next to its
output. The flow commits it only after the posts are safely stored, so a crawl that dies half-way, or posts
that never reached the store, are fetched again next time instead of being skipped forever.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

State = dict[str, Any]


def state_path(state_dir: Path, source_name: str) -> Path:
    return state_dir / f"{source_name}.json"


def load_state(path: Path) -> State:
    if not path.exists():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(
            f"crawl state {path} is unreadable ({err}); move it aside to start that source afresh"
        ) from err
    if not isinstance(value, dict):
        raise ValueError(f"crawl state {path} is not a JSON object; move it aside to start that source afresh")
    return value


def save_state(path: Path, state: State) -> None:
    """Write atomically (temp file, fsync, rename) so a crash never leaves half a state file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, ensure_ascii=False, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def commit_pending(pending: Path, committed: Path) -> None:
    """Make a crawl's pending state the committed one."""
    save_state(committed, load_state(pending))
    pending.unlink()
