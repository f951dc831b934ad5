"""Settings of the Telegram source: public channels through the t.me/s web preview."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from vaktpost.sources.base import SourceBase


class TelegramSource(SourceBase):
    """Public channels' web preview (`/s/<channel>`), paged with `?before=` and `?after=`; no login."""

    kind: Literal["telegram"]
    base_url: str = "https://t.me"
    channels: list[str] = Field(default_factory=list, description="channel usernames, as in t.me/s/<channel>")
    search_terms: list[str] = Field(default_factory=list, description="searched inside each channel with ?q=")
    delay_s: float | None = Field(default=1.0, ge=0.0)

    @field_validator("channels")
    @classmethod
    def _bare_channels(cls, channels: list[str]) -> list[str]:
        return [channel.removeprefix("@").removeprefix("s/") for channel in channels]
