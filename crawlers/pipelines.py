"""Item pipeline: every item is pseudonymised and validated as a Post before it leaves the crawler."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from vaktpost.privacy import Pseudonymiser
from vaktpost.schema import Post

log = logging.getLogger(__name__)

AUTHOR_FIELD = "author_native_id"
"""Spiders put the platform's own author id here; it is replaced by a pseudonym and never stored."""


class PostPipeline:
    def __init__(self, crawler: Crawler, pseudonymiser: Pseudonymiser) -> None:
        self._stats = crawler.stats
        self._pseudonymiser = pseudonymiser
        self._seen: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PostPipeline:
        key = crawler.settings["VAKTPOST_PSEUDONYM_KEY"]
        return cls(crawler, Pseudonymiser(key.encode("utf-8")))

    def process_item(self, item: dict[str, Any], spider: Spider | None = None) -> dict[str, Any]:
        native_author = item.pop(AUTHOR_FIELD, None)
        if native_author:
            item["author_id"] = self._pseudonymiser.author_id(item.get("source", ""), str(native_author))
        try:
            post = Post.model_validate(item)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
            self._stats.inc_value("vaktpost/failed/invalid_item")
            # The URL says where; the item itself may hold personal data and is never logged.
            log.warning("invalid post from %s dropped: %s", item.get("url", "?"), problems)
            raise DropItem("invalid post") from None
        if post.id in self._seen:
            self._stats.inc_value("vaktpost/duplicate_in_crawl")
            raise DropItem("duplicate", log_level="DEBUG")
        self._seen.add(post.id)
        return post.model_dump(mode="json")
