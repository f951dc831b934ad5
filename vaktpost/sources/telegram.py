"""Settings of the Telegram source: public channels through the t.me/s web preview."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from vaktpost.sources.base import SourceBase

# Public usernames: 5-32 letters, digits and underscores, starting with a letter (a few old ones have 4).
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_CHANNEL_URL = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:s/)?", re.I)


class TelegramSource(SourceBase):
    """Public channels' web preview (`/s/<channel>`), paged with `?before=` and `?after=`; no login.

    Without ``search_terms`` every message of each channel is read (back to the horizon on the first crawl,
    then only newer ones). With ``search_terms`` each channel is searched for each term instead (``?q=``):
    for large general channels where only mentions of the social services matter.
    """

    kind: Literal["telegram"]
    base_url: str = "https://t.me"
    channels: list[str] = Field(
        default_factory=list,
        description="channel usernames: name, @name, /s/name or https://t.me/s/name",
    )
    search_terms: list[str] = Field(
        default_factory=list,
        description="when set, each channel is searched for these terms (?q=) instead of read in full",
    )
    delay_s: float | None = Field(default=1.0, ge=0.0, description="~1 request/s was tolerated in a field test")

    @field_validator("channels")
    @classmethod
    def _bare_channels(cls, channels: list[str]) -> list[str]:
        bare = []
        for channel in channels:
            name = _CHANNEL_URL.sub("", channel.strip()).removeprefix("@").removeprefix("/").removeprefix("s/")
            name = name.split("?", 1)[0].split("/", 1)[0]
            if not _USERNAME.match(name):
                raise ValueError(f"{channel!r} is not a public channel username (letters, digits, _; 5-32 long)")
            bare.append(name)
        return bare

    @field_validator("search_terms")
    @classmethod
    def _no_blank_terms(cls, terms: list[str]) -> list[str]:
        return [term.strip() for term in terms if term.strip()]
