"""What every source's settings share. Each source kind has its own module next to this one."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Swedish terms that the campaign and the harassment around it use; the default scope of every source.
DEFAULT_SEARCH_TERMS = [
    "socialtjänsten",
    "soc",
    "socialen",
    "LVU",
    "socialsekreterare",
    "omhändertagande",
    "familjehem",
]
DEFAULT_HASHTAGS = ["lvu", "socialtjänsten", "soc", "socialen", "stoppasocialtjänsten"]


class Section(BaseModel):
    """A settings table: unknown keys are typos, reported instead of ignored."""

    model_config = ConfigDict(extra="forbid")


def http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return value.rstrip("/")


class SourceBase(Section):
    name: str = Field(default="", pattern=r"^$|^[a-z][a-z0-9_-]*$", description="unique name; defaults to kind")
    base_url: str
    delay_s: float | None = Field(default=None, ge=0.0, description="seconds between requests to this source")
    since_days: int | None = Field(default=None, ge=1, description="overrides crawl.since_days for this source")
    enabled: bool = True

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @model_validator(mode="after")
    def _default_name(self) -> SourceBase:
        if not self.name:
            self.name = str(getattr(self, "kind"))  # noqa: B009 - every subclass declares kind
        return self
