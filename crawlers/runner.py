"""Run one source's crawl in its own process and collect what it left: posts, stats, pending state."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crawlers.state import commit_pending, state_path
from vaktpost.datadir import DataDir
from vaktpost.schema import Post
from vaktpost.settings import Settings, SourceConfig

log = logging.getLogger(__name__)


@dataclass
class CrawlResult:
    source: str
    kind: str
    posts_file: Path
    pending_state: Path
    log_file: Path
    ok: bool
    error: str | None = None
    fetched: int = 0
    pages: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


def crawl(
    source: SourceConfig,
    settings: Settings,
    work_dir: Path,
    *,
    run_id: str | None = None,
    proxy: str | None = None,
) -> CrawlResult:
    """Crawl one source in a subprocess; never raises for a failing source, reports it instead."""
    data = DataDir(settings.data_dir).ensure()
    work_dir.mkdir(parents=True, exist_ok=True)
    run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = work_dir / f"{source.name}.jsonl"
    result = CrawlResult(
        source=source.name,
        kind=source.kind,
        posts_file=out,
        pending_state=work_dir / f"{source.name}.state.json",
        log_file=work_dir / f"{source.name}.log",
        ok=False,
    )
    job: dict[str, Any] = {
        # What a crawl needs; sections with secrets it never uses stay out (a dump masks secrets, and the
        # masked values would not validate in the child).
        "settings": settings.model_dump(mode="json", exclude={"pseudonym_key", "watchlist_key", "alerts", "store"}),
        "source": source.model_dump(mode="json"),
        "state": str(state_path(data.state, source.name)),
        "out": str(out),
        "stats": str(work_dir / f"{source.name}.stats.json"),
        "pending_state": str(result.pending_state),
        "warc": f"warc/{source.name}/{run_id}.warc.gz",
    }
    job_file = work_dir / f"{source.name}.job.json"
    job_file.write_text(json.dumps(job, indent=1), encoding="utf-8")
    env = dict(os.environ)
    if proxy:
        env.update(http_proxy=proxy, HTTP_PROXY=proxy, no_proxy="", NO_PROXY="")
    started = time.monotonic()
    timeout = settings.crawl.run_timeout_s
    with result.log_file.open("w", encoding="utf-8") as log_handle:
        try:
            process = subprocess.run(
                [sys.executable, "-m", "crawlers.run", str(job_file)],
                env=env,
                stdout=log_handle,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
            if process.returncode != 0:
                result.error = f"crawler exited with status {process.returncode}; see {result.log_file}"
        except subprocess.TimeoutExpired:
            result.error = f"crawl stopped after {timeout:.0f} s (crawl.run_timeout_s); kept what it collected"
    result.duration_s = time.monotonic() - started
    stats_file = Path(job["stats"])
    if stats_file.exists():
        stats = json.loads(stats_file.read_text(encoding="utf-8"))
        result.fetched = int(stats["fetched"])
        result.pages = int(stats["pages"])
        result.failures = {str(k): int(v) for k, v in stats["failures"].items()}
        result.notes = {str(k): int(v) for k, v in stats.get("notes", {}).items()}
        if result.error is None:
            result.error = _incomplete(stats, result, timeout)
    elif result.error is None:
        result.error = f"crawler left no stats; see {result.log_file}"
    result.ok = result.error is None
    if not result.ok:
        result.fetched = sum(1 for _ in read_posts(out))
    return result


def _incomplete(stats: dict[str, object], result: CrawlResult, timeout: float) -> str | None:
    """Why a crawl that ended normally still did not do its job, if it did not."""
    if stats.get("fatal"):
        return f"the crawl could not go on: {stats['fatal']}; see {result.log_file}"
    if stats.get("finish_reason") == "closespider_timeout":
        return f"crawl stopped after {timeout:.0f} s (crawl.run_timeout_s); kept what it collected"
    if result.pages == 0 and result.failures:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(result.failures.items()))
        return f"no page could be fetched ({reasons})"
    return None


def read_posts(path: Path) -> Iterator[Post]:
    """Posts from a crawl's JSON-lines output; a line cut off by a killed crawl is skipped, not fatal."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield Post.model_validate_json(line)
            except ValidationError as err:
                log.warning("skipping unreadable line %d of %s: %s", number, path, err.errors()[0]["msg"])


def commit_state(result: CrawlResult, settings: Settings) -> bool:
    """Advance the source's watermarks to what the crawl reached; only call once its posts are stored."""
    if not result.ok or not result.pending_state.exists():
        return False
    commit_pending(result.pending_state, state_path(DataDir(settings.data_dir).state, result.source))
    return True
