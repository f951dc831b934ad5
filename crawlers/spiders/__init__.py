"""One spider per source kind. Adding a source: a spider module here plus one line in SPIDERS."""

from __future__ import annotations

from importlib import import_module

from crawlers.spiders.base import SourceSpider

SPIDERS: dict[str, str] = {
    "flashback": "crawlers.spiders.flashback:FlashbackSpider",
    "mastodon": "crawlers.spiders.mastodon:MastodonSpider",
    "reddit": "crawlers.spiders.reddit:RedditSpider",
    "telegram": "crawlers.spiders.telegram:TelegramSpider",
    "bluesky": "crawlers.spiders.bluesky:BlueskySpider",
    "rss": "crawlers.spiders.rss:RssSpider",
    "forum": "crawlers.spiders.forum:ForumSpider",
}


def spider_for(kind: str) -> type[SourceSpider]:
    """The spider class of a source kind, imported only when that kind is crawled."""
    module, _, name = SPIDERS[kind].partition(":")
    spider: type[SourceSpider] = getattr(import_module(module), name)
    return spider


__all__ = ["SPIDERS", "SourceSpider", "spider_for"]
