"""Settings of each source kind, one module per kind (add a kind: a module here and two lines below)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from vaktpost.sources.base import DEFAULT_HASHTAGS, DEFAULT_SEARCH_TERMS, Section, SourceBase
from vaktpost.sources.bluesky import BlueskySource
from vaktpost.sources.flashback import FlashbackSource
from vaktpost.sources.forum import ForumSelectors, ForumSource
from vaktpost.sources.mastodon import MastodonSource
from vaktpost.sources.reddit import RedditSource
from vaktpost.sources.rss import RssSource
from vaktpost.sources.telegram import TelegramSource

AnySource = FlashbackSource | MastodonSource | RedditSource | TelegramSource | BlueskySource | RssSource | ForumSource
SourceConfig = Annotated[AnySource, Field(discriminator="kind")]
SOURCE_KINDS = ("flashback", "mastodon", "reddit", "telegram", "bluesky", "rss", "forum")

__all__ = [
    "DEFAULT_HASHTAGS",
    "DEFAULT_SEARCH_TERMS",
    "SOURCE_KINDS",
    "AnySource",
    "BlueskySource",
    "FlashbackSource",
    "ForumSelectors",
    "ForumSource",
    "MastodonSource",
    "RedditSource",
    "RssSource",
    "Section",
    "SourceBase",
    "SourceConfig",
    "TelegramSource",
]
