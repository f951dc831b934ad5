"""One spider per source kind. Adding a source: a spider module here plus one line in SPIDERS."""

from __future__ import annotations

from crawlers.spiders.base import SourceSpider
from crawlers.spiders.flashback import FlashbackSpider
from crawlers.spiders.mastodon import MastodonSpider

SPIDERS: dict[str, type[SourceSpider]] = {
    "flashback": FlashbackSpider,
    "mastodon": MastodonSpider,
}

__all__ = ["SPIDERS", "SourceSpider"]
