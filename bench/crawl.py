"""Crawl throughput against the local replay server with politeness off.

    python -m bench.crawl [--copies N]

Builds a large fictional Flashback forum and Mastodon instance by repeating the demo corpus N times under
new ids, serves them over HTTP, and crawls each with the real spider in its own subprocess (robots.txt still
obeyed; no delays, no AutoThrottle, 8 requests in parallel). Reports pages/s, posts/s and peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

import crawlers
from demo.corpus import Corpus, Forum, Status, Thread
from demo.flashback_site import FlashbackSite
from demo.mastodon_site import MastodonSite
from demo.replay import ReplayServer, Site
from vaktpost.settings import CrawlSettings, FlashbackSource, MastodonSource, Settings
from vaktpost.sources import AnySource


def enlarge(corpus: Corpus, copies: int) -> Corpus:
    """The demo corpus repeated ``copies`` times; each copy gets its own thread, post and status ids."""
    threads: list[Thread] = []
    for copy in range(copies):
        for forum in corpus.forums:
            for thread in forum.threads:
                if thread.moved:
                    continue
                posts = tuple(replace(p, id=p.id + copy * 10_000_000) for p in thread.posts)
                threads.append(replace(thread, id=thread.id + copy * 10_000_000, posts=posts, sticky=False))
    statuses: list[Status] = [
        replace(s, id=str(int(s.id) + copy * 10**15), reblog_of=None, in_reply_to_id=None, tags=("lvu",))
        for copy in range(copies)
        for s in corpus.statuses
        if not s.reblog_of
    ]
    return Corpus([Forum(1, "Bänken", tuple(threads))], corpus.accounts, statuses, corpus.instance, corpus.anchor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=20, help="how many times to repeat the demo corpus")
    args = parser.parse_args()
    corpus = enlarge(Corpus.load(), args.copies)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="vaktpost-bench-") as tmp:
        politeness_off = CrawlSettings(autothrottle=False, concurrent_per_domain=8, max_pages=100_000)
        settings = Settings(data_dir=Path(tmp) / "var", crawl=politeness_off)
        sites: dict[str, tuple[Site, AnySource]] = {
            "flashback": (
                FlashbackSite(corpus, threads_per_page=50),
                FlashbackSource(kind="flashback", base_url="http://x", forums=[1]),
            ),
            "mastodon": (MastodonSite(corpus), MastodonSource(kind="mastodon", base_url="http://x", hashtags=["lvu"])),
        }
        for name, (site, source) in sites.items():
            with ReplayServer({name: site}, default=name) as server:
                source = source.model_copy(update={"base_url": server.url, "delay_s": 0.0, "since_days": 60})
                started = time.perf_counter()
                result = crawlers.crawl(source, settings, Path(tmp) / name)
                elapsed = time.perf_counter() - started
            posts = sum(1 for _ in crawlers.read_posts(result.posts_file))
            results[name] = {
                "pages": result.pages,
                "posts": posts,
                "seconds": elapsed,
                "pages/s": result.pages / elapsed,
                "posts/s": posts / elapsed,
                "failures": result.failed,
            }
        results["crawl subprocess"] = {"peak MB": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    table = Table(title=f"Crawl throughput, politeness off ({args.copies}x the demo corpus)")
    table.add_column("source")
    table.add_column("measure")
    for name, numbers in results.items():
        table.add_row(name, ", ".join(f"{k} {v:,.1f}" for k, v in numbers.items()))
    Console().print(table)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
