"""Settings of the Reddit source (OAuth application-only; credentials from the environment)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from vaktpost.sources.base import DEFAULT_SEARCH_TERMS, SourceBase, http_url


class RedditSource(SourceBase):
    """Subreddit `new` listings and searches through the OAuth API, with the comments of matching threads.

    A thread *matches* when a search for one of ``search_terms`` found it, or when its title or text holds one
    of the terms as a word; with ``listing_comments`` every thread of the subreddit listings matches. Comments
    of matching threads are fetched when the thread is found and again, while it is younger than
    ``follow_days``, whenever its comment count changes (checked in batches of 100 through ``/api/info``).
    Without ``subreddits`` the searches are site-wide.
    """

    kind: Literal["reddit"]
    base_url: str = "https://oauth.reddit.com"
    token_url: str = "https://www.reddit.com/api/v1/access_token"  # noqa: S105 - an endpoint, not a secret
    web_url: str = Field(default="https://www.reddit.com", description="where stored post URLs (permalinks) point")
    subreddits: list[str] = Field(default_factory=lambda: ["sweden", "svenskpolitik", "asksweden"])
    search_terms: list[str] = Field(default_factory=lambda: list(DEFAULT_SEARCH_TERMS))
    comments: bool = Field(default=True, description="also fetch the comments of threads that match")
    listing_comments: bool = Field(
        default=False, description="fetch the comments of every thread in the subreddit listings (one request each)"
    )
    follow_days: int = Field(default=14, ge=0, description="days a matching thread is checked for new comments")
    more_requests: int = Field(
        default=10, ge=0, description="per thread and run: requests that expand collapsed ('more') comments"
    )
    page_size: int = Field(default=100, ge=1, le=100, description="items per listing page (Reddit's limit)")
    overlap_s: int = Field(
        default=3600, ge=0, description="re-read this far behind the newest item seen, for items listed late"
    )
    client_id_env: str = Field(default="VAKTPOST_REDDIT_CLIENT_ID", description="environment variable")
    client_secret_env: str = Field(default="VAKTPOST_REDDIT_CLIENT_SECRET", description="environment variable")
    app_id: str = Field(default="vaktpost", description="goes into Reddit's required User-Agent form")
    username: str = Field(default="vaktpost", description="the Reddit account that owns the app: (by /u/<username>)")
    delay_s: float | None = Field(default=1.0, ge=0.0)

    @field_validator("token_url", "web_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return http_url(value)

    @field_validator("subreddits")
    @classmethod
    def _bare_names(cls, names: list[str]) -> list[str]:
        return [name.removeprefix("/").removeprefix("r/") for name in names]
