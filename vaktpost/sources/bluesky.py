"""Settings of the Bluesky source: public author feeds, and search with an app password."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from vaktpost.sources.base import DEFAULT_SEARCH_TERMS, SourceBase, http_url

PUBLIC_APPVIEW = "https://public.api.bsky.app"
DEFAULT_AUTH_URL = "https://bsky.social"
DEFAULT_SEARCH_URL = "https://api.bsky.app"


class BlueskySource(SourceBase):
    """Author feeds from the public AppView without login; post search when an app password is set.

    ``auth_url`` and ``search_url`` default to Bluesky's own hosts while ``base_url`` is the public AppView;
    pointed anywhere else (a mirror, a replay server) they default to ``base_url``, so a test or demo never
    sends an app password to the real Bluesky by accident.
    """

    kind: Literal["bluesky"]
    base_url: str = Field(default=PUBLIC_APPVIEW, description="the public AppView")
    auth_url: str | None = Field(default=None, description="PDS for createSession; default https://bsky.social")
    search_url: str | None = Field(default=None, description="AppView for searchPosts; default https://api.bsky.app")
    actors: list[str] = Field(default_factory=list, description="handles or DIDs whose feeds to follow")
    search_terms: list[str] = Field(default_factory=lambda: list(DEFAULT_SEARCH_TERMS))
    search_lang: str | None = Field(default="sv", description="restrict searches to this language")
    handle_env: str = Field(default="VAKTPOST_BLUESKY_HANDLE", description="environment variable")
    app_password_env: str = Field(default="VAKTPOST_BLUESKY_APP_PASSWORD", description="environment variable")
    page_size: int = Field(default=100, ge=1, le=100, description="posts per request (the API allows 1-100)")
    max_pages_per_query: int = Field(
        default=50,
        ge=1,
        description="pages of one author feed or one search per crawl; a longer walk stops there and is reported",
    )
    delay_s: float | None = Field(default=0.5, ge=0.0)

    @field_validator("auth_url", "search_url")
    @classmethod
    def _optional_http_url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value)

    @field_validator("actors")
    @classmethod
    def _bare_actors(cls, actors: list[str]) -> list[str]:
        return [actor.strip().removeprefix("@") for actor in actors]

    def resolved_auth_url(self) -> str:
        """Where createSession goes: the configured PDS, Bluesky's when crawling Bluesky, else ``base_url``."""
        return self.auth_url or (DEFAULT_AUTH_URL if self.base_url == PUBLIC_APPVIEW else self.base_url)

    def resolved_search_url(self) -> str:
        """Where searchPosts goes (not the public AppView, which refuses search without and often with a token)."""
        return self.search_url or (DEFAULT_SEARCH_URL if self.base_url == PUBLIC_APPVIEW else self.base_url)
