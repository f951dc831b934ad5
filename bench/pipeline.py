"""Throughput of each nightly stage on this machine: crawl (politeness off), analysis, store writes.

    python -m bench.pipeline [--posts N]

Crawls the bundled demo over real HTTP (one Scrapy subprocess per source, as in production), analyses
N posts built from the demo texts with the baseline analyser, and upserts them into a fresh SQLite store.
Reports pages/s, posts/s, writes/s and the peak memory of this process and of the crawl subprocesses.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import crawlers
from demo import serve_demo
from index.sqlite import SQLiteStore
from models import load_analyzer
from vaktpost.schema import AnalysedPost, Post
from vaktpost.settings import Settings


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=20000, help="posts to analyse and store")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="vaktpost-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "var")
        crawled: list[Post] = []
        with serve_demo() as site:
            for source in site.sources:
                started = time.perf_counter()
                result = crawlers.crawl(source, settings, Path(tmp) / "crawl", proxy=site.proxy)
                elapsed = time.perf_counter() - started
                posts = list(crawlers.read_posts(result.posts_file))
                crawled.extend(posts)
                results[f"crawl {source.name}"] = {
                    "pages/s": result.pages / elapsed,
                    "posts/s": len(posts) / elapsed,
                    "seconds": elapsed,
                }
        results["crawl subprocesses"] = {"peak MB": _peak_mb(resource.RUSAGE_CHILDREN)}

        synthetic = [
            post.model_copy(update={"id": f"{post.source}:bench{i}"})
            for i, post in enumerate(crawled[i % len(crawled)] for i in range(args.posts))
        ]
        analyzer = load_analyzer(Settings(data_dir=Path(tmp) / "var"))
        analyzer.analyze(synthetic[:50])  # warm-up
        started = time.perf_counter()
        verdicts = []
        for start in range(0, len(synthetic), 64):
            verdicts.extend(analyzer.analyze(synthetic[start : start + 64]))
        elapsed = time.perf_counter() - started
        words = sum(len(p.text.split()) for p in synthetic) / len(synthetic)
        results["analysis (baseline)"] = {"posts/s": len(synthetic) / elapsed, "words/post": words, "seconds": elapsed}

        store = SQLiteStore(Path(tmp) / "bench.db")
        items = [AnalysedPost(post=p, verdict=v) for p, v in zip(synthetic, verdicts, strict=True)]
        started = time.perf_counter()
        for start in range(0, len(items), 500):
            store.upsert(items[start : start + 500])
        elapsed = time.perf_counter() - started
        results["store upsert (SQLite)"] = {"writes/s": len(items) / elapsed, "seconds": elapsed}
        store.close()
        results["this process"] = {"peak MB": _peak_mb(resource.RUSAGE_SELF)}

    table = Table(title=f"Vaktpost pipeline benchmark ({args.posts} posts analysed and stored)")
    table.add_column("stage")
    table.add_column("measure")
    for stage, numbers in results.items():
        table.add_row(stage, ", ".join(f"{k} {v:,.1f}" for k, v in numbers.items()))
    Console().print(table)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
