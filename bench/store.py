"""Bulk writes and search latency of the embedded SQLite store at scale.

    python -m bench.store [--posts 1000000] [--queries 200] [--db PATH] [--json FILE]

Writes N synthetic posts (Swedish sentences from the bundled demo, recombined; a tenth flagged, five sources,
90 days) through ``SQLiteStore.upsert`` in batches of 1,000, then times the queries the review app makes:
a filtered full-text search, the severity-ordered queue, and counts per day. Reports writes/s and the p50
and p95 latency of each query. The targets (issue 6) are >= 5,000 writes/s and p95 <= 100 ms for a
filtered full-text query.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from demo.corpus import Corpus
from index import SearchQuery
from index.sqlite import SQLiteStore
from vaktpost.schema import LABELS, AnalysedPost, Label, Post, Verdict

SOURCES = ("flashback", "mastodon", "reddit", "telegram", "bluesky")
START = datetime(2026, 9, 1, tzinfo=UTC)
console = Console()


def _sentences() -> list[str]:
    corpus = Corpus.load()
    texts = [post.text for _, _, post in corpus.forum_posts()] + [s.text for s in corpus.statuses]
    return [sentence.strip() for text in texts for sentence in text.split(".") if len(sentence.split()) > 3]


def synthetic_posts(count: int, seed: int = 0) -> Iterator[AnalysedPost]:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not cryptography
    sentences = _sentences()
    for number in range(count):
        source = SOURCES[number % len(SOURCES)]
        created = START + timedelta(seconds=rng.randrange(90 * 86400))
        text = ". ".join(rng.choice(sentences) for _ in range(rng.randint(1, 4)))
        flags: list[Label] = rng.sample(LABELS, k=rng.choice((1, 1, 2))) if rng.random() < 0.1 else []
        scores = {label: (rng.uniform(0.5, 1.0) if label in flags else rng.uniform(0.0, 0.4)) for label in LABELS}
        post = Post(
            id=f"{source}:{number}",
            source=source,
            url=f"https://{source}.example/p/{number}",
            author_id=f"{rng.getrandbits(64):016x}",
            author_name="Nick" if flags else None,
            text=text,
            created_at=created,
            collected_at=created + timedelta(hours=6),
            thread_id=f"{source}:t{number // 20}",
        )
        yield AnalysedPost(post=post, verdict=Verdict(post_id=post.id, scores=scores, flags=flags))


def latency_summary(samples_ms: list[float]) -> dict[str, float]:
    """p50, p95 and max of timings in milliseconds, and how many there were."""
    ordered = sorted(samples_ms)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "max_ms": round(ordered[-1], 2),
        "n": len(ordered),
    }


def _timed(run: Callable[[], object], times: int) -> dict[str, float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return latency_summary(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="timed repetitions of each query")
    parser.add_argument("--db", type=Path, help="keep the database here (default: a temporary directory)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vaktpost-bench-store-") as tmp:
        path = args.db or Path(tmp) / "bench.db"
        store = SQLiteStore(path)
        batch: list[AnalysedPost] = []
        written = 0
        writing = 0.0
        with Progress(
            TextColumn("writing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            bar = progress.add_task("posts", total=args.posts)
            for item in synthetic_posts(args.posts):
                batch.append(item)
                if len(batch) == 1000:
                    started = time.perf_counter()
                    store.upsert(batch, run_id="bench")
                    writing += time.perf_counter() - started
                    written += len(batch)
                    progress.advance(bar, len(batch))
                    batch = []
            if batch:
                started = time.perf_counter()
                store.upsert(batch, run_id="bench")
                writing += time.perf_counter() - started
                written += len(batch)
                progress.advance(bar, len(batch))
        rng = random.Random(1)  # noqa: S311
        words = [w for s in _sentences() for w in s.split() if len(w) > 5 and w.isalpha()]
        week = timedelta(days=7)

        def filtered_search() -> object:
            since = START + timedelta(days=rng.randrange(80))
            query = SearchQuery(text=rng.choice(words), labels=[rng.choice(LABELS)], since=since, until=since + week)
            return store.search(query)

        def queue() -> object:
            return store.search(SearchQuery(review_status=["new"], offset=rng.randrange(0, 500, 50)))

        def per_day() -> object:
            return store.counts(SearchQuery(since=START, until=START + timedelta(days=90)), "day")

        results = {
            "posts": written,
            "writes_per_s": round(written / writing),
            "database_mb": round(path.stat().st_size / 1e6, 1),
            "filtered_full_text_search": _timed(filtered_search, args.queries),
            "queue_page": _timed(queue, args.queries),
            "counts_per_day_90_days": _timed(per_day, max(10, args.queries // 10)),
        }
        store.close()
    table = Table(title=f"SQLite store, {written:,} posts")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("writes/s (upsert, batches of 1,000)", f"{results['writes_per_s']:,}")
    table.add_row("database size (MB)", str(results["database_mb"]))
    for name in ("filtered_full_text_search", "queue_page", "counts_per_day_90_days"):
        timing = results[name]
        assert isinstance(timing, dict)
        table.add_row(f"{name} p50 / p95 (ms)", f"{timing['p50_ms']} / {timing['p95_ms']}")
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
