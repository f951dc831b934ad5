"""Crawlers: Scrapy spiders for the public places where harm against staff happens.

Public interface used by flows and the CLI: ``crawl()`` runs one source in a subprocess and returns a
``CrawlResult``; ``read_posts()`` reads what it collected; ``commit_state()`` advances the source's
watermarks once the posts are stored. ``verify_evidence(data_dir, evidence)`` says whether a post's captured
response is still in its WARC file with the digest recorded at capture.
"""

from __future__ import annotations

from crawlers.evidence import verify as verify_evidence
from crawlers.runner import CrawlResult, commit_state, crawl, read_posts

__all__ = ["CrawlResult", "commit_state", "crawl", "read_posts", "verify_evidence"]
