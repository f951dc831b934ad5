"""Settings of the Bluesky source: public author feeds, and search with an app password."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vaktpost.sources.base import DEFAULT_SEARCH_TERMS, SourceBase


class BlueskySource(SourceBase):
    """Author feeds from the public AppView without login; post search when an app password is set."""

    kind: Literal["bluesky"]
    base_url: str = Field(default="https://public.api.bsky.app", description="the public AppView")
    auth_url: str | None = Field(default=None, description="PDS for createSession; default https://bsky.social")
    search_url: str | None = Field(default=None, description="AppView for searchPosts; default https://api.bsky.app")
    actors: list[str] = Field(default_factory=list, description="handles or DIDs whose feeds to follow")
    search_terms: list[str] = Field(default_factory=lambda: list(DEFAULT_SEARCH_TERMS))
    search_lang: str | None = Field(default="sv", description="restrict searches to this language")
    handle_env: str = Field(default="VAKTPOST_BLUESKY_HANDLE", description="environment variable")
    app_password_env: str = Field(default="VAKTPOST_BLUESKY_APP_PASSWORD", description="environment variable")
    delay_s: float | None = Field(default=0.5, ge=0.0)
