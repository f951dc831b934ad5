"""Settings: one TOML file plus ``VAKTPOST_*`` environment overrides, validated before anything runs.

Nested keys are overridden with a double underscore: ``VAKTPOST_STORE__BACKEND``, ``VAKTPOST_DATA_DIR``.
Secrets (the pseudonymisation key, credentials) belong in the environment, never in the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from vaktpost import __version__
from vaktpost.schema import LABELS, Label
from vaktpost.sources import (
    SOURCE_KINDS,
    AnySource,
    BlueskySource,
    FlashbackSource,
    ForumSource,
    MastodonSource,
    RedditSource,
    RssSource,
    Section,
    SourceConfig,
    TelegramSource,
)

__all__ = [  # the source models are re-exported: most callers only need settings
    "SOURCE_KINDS",
    "AnySource",
    "BlueskySource",
    "FlashbackSource",
    "ForumSource",
    "MastodonSource",
    "RedditSource",
    "RssSource",
    "Settings",
    "SettingsError",
    "SourceConfig",
    "TelegramSource",
    "load_settings",
]

CONFIG_ENV = "VAKTPOST_CONFIG"
DEFAULT_CONFIG = Path("vaktpost.toml")


class SettingsError(Exception):
    """A setting is missing, malformed or out of range; the message names the key, the value and the fix."""


class CrawlSettings(Section):
    """How politely and how far the crawlers go. Per-source delays override ``default_delay_s``."""

    contact_url: str = Field(
        default="https://github.com/vaktpost/vaktpost",
        description="where site owners can read who crawls them and why; goes into the User-Agent",
    )
    user_agent: str | None = Field(default=None, description="full User-Agent; built from contact_url if unset")
    obey_robots: bool = True
    autothrottle: bool = True
    concurrent_per_domain: int = Field(default=1, ge=1, le=16)
    default_delay_s: float = Field(default=1.0, ge=0.0)
    download_timeout_s: float = Field(default=30.0, gt=0.0)
    retries: int = Field(default=3, ge=0, le=10)
    retry_backoff_s: float = Field(
        default=2.0, ge=0.0, description="first wait before a retry; doubles each time (Retry-After wins)"
    )
    max_pages: int = Field(default=500, ge=1, description="request budget per source and run")
    since_days: int = Field(default=30, ge=1, description="how far back a first crawl of a source reaches")
    run_timeout_s: float = Field(default=1800.0, gt=0.0, description="a source's crawl is stopped after this")
    http_cache: bool = Field(default=False, description="development HTTP cache under the data dir")

    def resolved_user_agent(self) -> str:
        return self.user_agent or f"Vaktpost/{__version__} (+{self.contact_url})"


class AnalysisSettings(Section):
    """Which analyser scores posts and where a score becomes a flag."""

    analyzer: Literal["transformer", "baseline"] = Field(
        default="transformer",
        description="transformer: the harm classifier (with the personal-data pack); baseline: the lexicon",
    )
    model: Path | None = Field(default=None, description="a classifier model directory (default: the committed one)")
    thresholds: dict[Label, float] = Field(
        default_factory=lambda: dict.fromkeys(LABELS, 0.5),
        description="flag thresholds of the baseline analyser; the classifier brings its own",
    )
    batch_size: int = Field(default=64, ge=1, le=4096)
    lexicon: Path | None = Field(default=None, description="a lexicon TOML replacing the bundled Swedish one")

    @field_validator("thresholds")
    @classmethod
    def _all_labels_in_range(cls, thresholds: dict[Label, float]) -> dict[Label, float]:
        merged: dict[Label, float] = dict.fromkeys(LABELS, 0.5)
        merged.update(thresholds)
        for label, value in merged.items():
            if not 0.0 < value <= 1.0:
                raise ValueError(f"threshold for {label} is {value}; expected a number above 0 and at most 1")
        return merged


class ElasticsearchSettings(Section):
    """A cluster the operator runs (ES 8 or 9). Secrets come from the environment, e.g.
    ``VAKTPOST_STORE__ELASTICSEARCH__API_KEY``."""

    hosts: list[str] = Field(default_factory=lambda: ["https://localhost:9200"])
    index_prefix: str = Field(
        default="vaktpost",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="one prefix per municipality (vaktpost-granhult): its aliases, indices, template, ILM policy",
    )
    api_key: SecretStr | None = Field(default=None, description="an encoded API key; preferred over a password")
    username: str | None = None
    password: SecretStr | None = None
    ca_certs: Path | None = Field(default=None, description="CA bundle for the cluster's TLS certificate")
    verify_certs: bool = True
    request_timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=20, description="retries with backoff on 429 and connection errors")
    shards: int = Field(default=1, ge=1, le=64)
    replicas: int = Field(default=1, ge=0, le=8)


class StoreSettings(Section):
    backend: Literal["sqlite", "elasticsearch"] = "sqlite"
    sqlite_path: Path | None = Field(default=None, description="defaults to <data_dir>/vaktpost.db")
    sqlite_busy_timeout_s: float = Field(
        default=30.0, gt=0, description="how long a write waits for another writer before the run spools instead"
    )
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)


class RetentionSettings(Section):
    """How long posts are kept (days since they were collected); ``vaktpost purge`` and the nightly run apply it."""

    unflagged_days: int = Field(default=30, ge=1, description="posts nothing was flagged in")
    flagged_days: int = Field(default=365, ge=1, description="flagged posts, whatever their review status")
    dismissed_days: int = Field(default=30, ge=1, description="flagged posts a reviewer dismissed")
    audit_days: int = Field(default=730, ge=30, description="entries of the audit log (who saw and did what)")


IMMEDIATE_LABELS: tuple[Label, ...] = ("threat", "doxxing")


class ImmediateRule(Section):
    """Alert within the run when a post is flagged with one of these labels at or above ``min_score``."""

    enabled: bool = True
    labels: list[Label] = Field(default_factory=lambda: list(IMMEDIATE_LABELS))
    min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    severity: Literal["critical", "high", "medium", "low"] = "critical"


class AlertSettings(Section):
    review_url: str = Field(
        default="http://127.0.0.1:8000", description="base URL of the review app, for links in alerts"
    )
    immediate: ImmediateRule = Field(default_factory=ImmediateRule)
    outbox: bool = Field(default=True, description="append alerts to <data_dir>/alerts/outbox.jsonl")


class ReviewSettings(Section):
    """The review app (`vaktpost serve`)."""

    host: str = Field(default="127.0.0.1", description="listen address; put a TLS reverse proxy in front for others")
    port: int = Field(default=8000, ge=1, le=65535)
    behind_tls: bool = Field(default=False, description="served over HTTPS (via a proxy): session cookies are Secure")
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60, description="sign out after this long idle")
    login_attempts: int = Field(default=5, ge=1, le=100, description="failed logins allowed per name and address")
    login_window_minutes: int = Field(default=15, ge=1, description="... within this many minutes")
    page_size: int = Field(default=50, ge=10, le=500)


class Settings(BaseSettings):
    """Everything an operator can configure. See vaktpost.example.toml for a commented example."""

    model_config = SettingsConfigDict(
        env_prefix="VAKTPOST_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Field(default=Path("var"), description="everything a run writes goes here")
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="key for author pseudonyms (env VAKTPOST_PSEUDONYM_KEY); generated in the data dir if unset",
    )
    watchlist_key: SecretStr | None = Field(
        default=None,
        description="key of the encrypted protected-staff watch-list (env VAKTPOST_WATCHLIST_KEY)",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    sources: list[SourceConfig] = Field(default_factory=list)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[AnySource]) -> list[Any]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"two sources are named {source.name!r}; give each a unique name")
            seen.add(source.name)
        return sources

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Priority: explicit arguments, then the environment, then the TOML file.
        return init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=_file_values.get())

    @property
    def enabled_sources(self) -> list[AnySource]:
        return [source for source in self.sources if source.enabled]


_file_values: ContextVar[dict[str, Any]] = ContextVar("_file_values", default={})  # noqa: B039


def config_path(explicit: Path | None = None) -> Path | None:
    """The settings file in use: ``--config``, else ``$VAKTPOST_CONFIG``, else ./vaktpost.toml if present."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def load_settings(config: Path | None = None) -> Settings:
    """Read and validate settings, or raise SettingsError saying exactly what is wrong and where."""
    path = config_path(config)
    values: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise SettingsError(f"settings file {path} not found (from --config or ${CONFIG_ENV})")
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise SettingsError(f"{path} is not valid TOML: {err}") from err
        except UnicodeDecodeError as err:
            raise SettingsError(f"{path} is not UTF-8 text: {err}") from err
    with _reading(values):
        try:
            return Settings()
        except ValidationError as err:
            raise SettingsError(format_errors(err, path)) from err


@contextmanager
def _reading(values: dict[str, Any]) -> Iterator[None]:
    token = _file_values.set(values)
    try:
        yield
    finally:
        _file_values.reset(token)


_SECRET_WORDS = ("key", "password", "secret", "token")


def format_errors(err: ValidationError, path: Path | None) -> str:
    """One line per problem: the key (as in the file and as an environment variable), the value, the fix."""
    where = str(path) if path else "settings"
    lines = [f"invalid settings ({where}):"]
    for problem in err.errors():
        key = _dotted(problem["loc"])
        env = _env_name(problem["loc"])
        value = problem.get("input")
        shown = "<hidden>" if any(w in key for w in _SECRET_WORDS) else _short(value)
        expected = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown setting (value {shown}); check the spelling against vaktpost.example.toml")
        elif problem["type"] == "missing":
            lines.append(f"  {key}: required but not set (in the file or as {env})")
        else:
            lines.append(f"  {key} = {shown}: {expected} (set in the file or as {env})")
    return "\n".join(lines)


def _env_name(loc: tuple[int | str, ...]) -> str:
    """The environment variable that sets this key; inside a list only the whole list can be set (as JSON)."""
    names: list[str] = []
    for part in loc:
        if isinstance(part, int):
            break
        names.append(part.upper())
    return "VAKTPOST_" + "__".join(names)


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in SOURCE_KINDS and out.endswith("]"):
            continue  # the discriminator tag pydantic inserts for tagged unions
        else:
            out += f".{part}" if out else str(part)
    return out or "settings"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
