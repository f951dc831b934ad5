"""Settings of the Reddit source (OAuth application-only; credentials from the environment)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from vaktpost.sources.base import DEFAULT_SEARCH_TERMS, SourceBase, http_url


class RedditSource(SourceBase):
    """Subreddit `new` listings and searches through the OAuth API, with the comments of matching threads."""

    kind: Literal["reddit"]
    base_url: str = "https://oauth.reddit.com"
    token_url: str = "https://www.reddit.com/api/v1/access_token"  # noqa: S105 - an endpoint, not a secret
    subreddits: list[str] = Field(default_factory=lambda: ["sweden", "svenskpolitik", "asksweden"])
    search_terms: list[str] = Field(default_factory=lambda: list(DEFAULT_SEARCH_TERMS))
    comments: bool = Field(default=True, description="also fetch the comments of threads that match")
    client_id_env: str = Field(default="VAKTPOST_REDDIT_CLIENT_ID", description="environment variable")
    client_secret_env: str = Field(default="VAKTPOST_REDDIT_CLIENT_SECRET", description="environment variable")
    app_id: str = Field(default="vaktpost", description="goes into Reddit's required User-Agent form")
    username: str = Field(default="vaktpost", description="the Reddit account that owns the app: (by /u/<username>)")
    delay_s: float | None = Field(default=1.0, ge=0.0)

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("subreddits")
    @classmethod
    def _bare_names(cls, names: list[str]) -> list[str]:
        return [name.removeprefix("/").removeprefix("r/") for name in names]
