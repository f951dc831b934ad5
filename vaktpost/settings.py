"""Settings: one TOML file plus ``VAKTPOST_*`` environment overrides, validated before anything runs.

Nested keys are overridden with a double underscore: ``VAKTPOST_STORE__BACKEND``, ``VAKTPOST_DATA_DIR``.
Secrets (the pseudonymisation key, credentials) belong in the environment, never in the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
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

AlertSeverity = Literal["critical", "high", "medium", "low"]
Audience = Literal["safety", "communications", "operators"]
"""Who reads a channel. Only ``safety`` (the safety officers) is told which protected staff member is exposed."""

ALERT_TIMEZONE = "Europe/Stockholm"
CHANNEL_NAME = r"^[a-z][a-z0-9_-]*$"
_QUIET_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_CHANNEL_SECRETS = ("url", "password", "token", "proxy")


class AlertRule(Section):
    """What every rule has: who gets it, how severe it is, and when non-critical alerts wait."""

    enabled: bool = True
    recipients: list[str] | None = Field(
        default=None, description="names of the channels this rule's alerts go to; unset: every channel"
    )
    severity: AlertSeverity = "high"
    quiet_hours: str | None = Field(
        default=None,
        description='"22:00-07:00", Stockholm time: only critical alerts go out then, the others wait (stay '
        "pending) and go out at the first run after",
    )

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        match = _QUIET_HOURS.match(value.replace(" ", ""))
        if match is None or match.group(1, 2) == match.group(3, 4):
            raise ValueError('expected "HH:MM-HH:MM" (24-hour clock, Stockholm time), e.g. "22:00-07:00"')
        return value.replace(" ", "")

    def quiet_window(self) -> tuple[time, time] | None:
        """(start, end) of the quiet hours in Stockholm time; end may be before start (over midnight)."""
        if self.quiet_hours is None:
            return None
        start, end = self.quiet_hours.split("-")
        return time.fromisoformat(start), time.fromisoformat(end)


class ImmediateRule(AlertRule):
    """Alert within the run on one post: flagged with one of ``labels`` at or above its score (``min_scores``,
    else ``min_score``), or exposing a protected staff member (a watch-list exposure) at or above
    ``protected_staff_min_score``."""

    labels: list[Label] = Field(default_factory=lambda: list(IMMEDIATE_LABELS))
    min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    min_scores: dict[Label, float] = Field(default_factory=dict, description="per-label scores, e.g. threat = 0.7")
    protected_staff: bool = Field(default=True, description="alert on any exposure of a protected staff member")
    protected_staff_min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    severity: AlertSeverity = "critical"

    @field_validator("min_scores")
    @classmethod
    def _scores_in_range(cls, scores: dict[Label, float]) -> dict[Label, float]:
        for label, value in scores.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"min_scores.{label} is {value}; expected a number from 0 to 1")
        return scores

    def score_for(self, label: Label) -> float:
        return self.min_scores.get(label, self.min_score)


class SpikeRule(AlertRule):
    """Alert when a label's flagged posts per (UTC) day rise well above the days before: today's and
    yesterday's counts against the ``baseline_days`` before each; once per label and day."""

    enabled: bool = False
    labels: list[Label] = Field(default_factory=lambda: list(LABELS))
    baseline_days: int = Field(default=14, ge=3, le=90)
    z_threshold: float = Field(default=3.0, gt=0.0, description="how many standard deviations above the mean")
    min_count: int = Field(default=5, ge=1, description="never fire on fewer flagged posts than this in a day")
    severity: AlertSeverity = "high"


class FlatlineRule(AlertRule):
    """Alert the operator when a source failed (or, with ``include_empty``, returned nothing) in ``runs``
    consecutive runs; once per source and streak."""

    enabled: bool = False
    runs: int = Field(default=3, ge=1, le=1000)
    include_empty: bool = Field(default=True, description="a run that fetched nothing counts, not only failures")
    severity: AlertSeverity = "medium"


class DigestRule(AlertRule):
    """One summary per run of everything flagged in it: counts per label and source, links to the posts."""

    enabled: bool = False
    send_empty: bool = Field(default=False, description="send a digest also when nothing was flagged")
    max_links: int = Field(default=25, ge=0, le=500)
    severity: AlertSeverity = "low"


class ChannelBase(Section):
    name: str = Field(pattern=CHANNEL_NAME, description="unique; what rules name in recipients")

    audience: Audience = Field(
        default="operators", description="safety | communications | operators; only safety sees staff ids"
    )
    timeout_s: float = Field(default=15.0, gt=0.0)

    def env_secret(self, what: str) -> str:
        """The environment variable a secret of this channel is read from: VAKTPOST_ALERT_<NAME>_<WHAT>."""
        return f"VAKTPOST_ALERT_{self.name.upper().replace('-', '_')}_{what}"

    def _from_env(self, what: str) -> SecretStr | None:
        value = os.environ.get(self.env_secret(what))
        return SecretStr(value) if value else None


class EmailChannelSettings(ChannelBase):
    """E-mail over SMTP. The password belongs in the environment: VAKTPOST_ALERT_<NAME>_PASSWORD."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Literal["email"]
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535, description="default 465 (ssl), 587 (starttls), 25")
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    ca_file: Path | None = Field(default=None, description="CA bundle for the server's certificate")
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$", description="the From address")
    to: list[str] = Field(min_length=1, description="recipient addresses")

    @field_validator("to")
    @classmethod
    def _addresses(cls, to: list[str]) -> list[str]:
        bad = [address for address in to if not re.match(r"^[^@\s,]+@[^@\s,]+$", address)]
        if bad:
            raise ValueError(f"not e-mail addresses: {bad}")
        return to

    @model_validator(mode="after")
    def _password(self) -> EmailChannelSettings:
        if self.password is None:
            self.password = self._from_env("PASSWORD")
        if self.password is not None and not self.password.get_secret_value().isascii():
            raise ValueError(f"channel {self.name!r}: the SMTP password must be ASCII (smtplib sends nothing else)")
        if self.username and self.password is None:
            raise ValueError(f"channel {self.name!r} has a username but no password; set {self.env_secret('PASSWORD')}")
        if self.username and self.tls == "none" and self.host not in _LOOPBACK:
            raise ValueError(f"channel {self.name!r} would send its password unencrypted; use tls = starttls or ssl")
        return self

    @property
    def resolved_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.tls]


class WebhookChannelSettings(ChannelBase):
    """An HTTP POST of JSON: ``webhook`` (Vaktpost's own JSON), ``teams`` (an Adaptive Card for a Teams
    Workflows webhook, or a legacy MessageCard), ``slack`` (Slack and Mattermost incoming webhooks).
    Webhook URLs hold credentials: put them in the environment, VAKTPOST_ALERT_<NAME>_URL."""

    kind: Literal["webhook", "teams", "slack"]
    url: SecretStr | None = None
    token: SecretStr | None = Field(
        default=None, description="sent as Authorization: Bearer (env VAKTPOST_ALERT_<NAME>_TOKEN)"
    )
    card: Literal["adaptive", "messagecard"] = Field(default="adaptive", description="teams only: the payload kind")
    proxy: SecretStr | None = Field(
        default=None, description="HTTP(S) proxy for this channel (may hold credentials); the environment's is not used"
    )

    @model_validator(mode="after")
    def _url(self) -> WebhookChannelSettings:
        if self.url is None:
            self.url = self._from_env("URL")
        if self.url is None:
            raise ValueError(f"channel {self.name!r} has no url; set it in {self.env_secret('URL')}")
        if not self.url.get_secret_value().startswith(("http://", "https://")):
            raise ValueError(f"channel {self.name!r}: the url must be an http:// or https:// URL")
        if self.token is None:
            self.token = self._from_env("TOKEN")
        if self.proxy is not None and not self.proxy.get_secret_value().startswith(("http://", "https://")):
            raise ValueError(f"channel {self.name!r}: the proxy must be an http:// or https:// URL")
        return self


class OutboxChannelSettings(ChannelBase):
    """JSON lines in a file (default <data_dir>/alerts/outbox.jsonl): the channel that always works."""

    kind: Literal["outbox"]
    path: Path | None = None


AnyChannel = EmailChannelSettings | WebhookChannelSettings | OutboxChannelSettings
ChannelConfig = Annotated[AnyChannel, Field(discriminator="kind")]

RULES = ("immediate", "spike", "flatline", "digest")


class AlertSettings(Section):
    review_url: str = Field(
        default="http://127.0.0.1:8000", description="base URL of the review app, for links in alerts"
    )
    outbox: bool = Field(
        default=True, description='the "outbox" channel: alerts appended to <data_dir>/alerts/outbox.jsonl'
    )
    channels: list[ChannelConfig] = Field(default_factory=list)
    immediate: ImmediateRule = Field(default_factory=ImmediateRule)
    spike: SpikeRule = Field(default_factory=SpikeRule)
    flatline: FlatlineRule = Field(default_factory=FlatlineRule)
    digest: DigestRule = Field(default_factory=DigestRule)
    attempts: int = Field(default=3, ge=1, le=10, description="tries per alert and channel within a run")
    retry_backoff_s: float = Field(default=1.0, ge=0.0, le=60.0, description="first wait between tries; doubles")

    @field_validator("channels", mode="before")
    @classmethod
    def _hide_secrets(cls, channels: Any) -> Any:
        """Channel secrets become SecretStr before they are validated, so that no error message echoes them."""
        if not isinstance(channels, list):
            return channels
        return [
            {k: SecretStr(v) if k in _CHANNEL_SECRETS and isinstance(v, str) else v for k, v in channel.items()}
            if isinstance(channel, dict)
            else channel
            for channel in channels
        ]

    @model_validator(mode="after")
    def _channels_and_recipients(self) -> AlertSettings:
        names = [channel.name for channel in self.all_channels()]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"two alert channels are named {twice[0]!r}; give each a unique name")
        for rule_name in RULES:
            unknown = [name for name in self.rule(rule_name).recipients or [] if name not in names]
            if unknown:
                raise ValueError(
                    f"alerts.{rule_name}.recipients names {unknown}, not channels; the channels are {names}"
                )
        return self

    def all_channels(self) -> list[AnyChannel]:
        """The configured channels and, with ``outbox = true``, the outbox (unless a channel takes its name)."""
        channels: list[AnyChannel] = list(self.channels)
        if self.outbox and all(channel.name != "outbox" for channel in self.channels):
            channels.insert(0, OutboxChannelSettings(kind="outbox", name="outbox"))
        return channels

    def rule(self, name: str) -> AlertRule:
        rule: AlertRule = getattr(self, name) if name in RULES else AlertRule(enabled=False)
        return rule


class ScheduleSettings(Section):
    """`vaktpost schedule`: the deployments it serves to the operator's Prefect server."""

    prefect_api_url: str | None = Field(
        default=None, description="the Prefect server's API, e.g. http://127.0.0.1:4200/api (else PREFECT_API_URL)"
    )
    nightly_cron: str = Field(default="0 2 * * *", description="when the nightly run starts")
    purge_cron: str = Field(default="30 5 * * *", description="when the retention purge runs on its own")
    timezone: str = Field(default="Europe/Stockholm", description="an IANA zone for both schedules")


class RunSettings(Section):
    """How a nightly run is executed: timeouts, retries, concurrency and the task runner."""

    task_runner: Literal["threads", "dask"] = Field(default="threads", description="dask spreads analysis batches")
    dask_address: str | None = Field(default=None, description="a Dask scheduler (tcp://host:8786), else local")
    dask_workers: int = Field(default=2, ge=1, le=64, description="workers of the local Dask cluster")
    source_retries: int = Field(
        default=2, ge=0, le=10, description="a failed crawl task is retried (crawl.run_timeout_s caps each try)"
    )
    retry_delay_s: float = Field(default=30.0, ge=0, description="first retry delay; doubles each retry")
    run_timeout_s: float = Field(default=6 * 3600.0, gt=0, description="the whole run is cut off after this")
    json_logs: bool = Field(default=False, description="write the run's log as JSON lines in the run dir")


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
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    run: RunSettings = Field(default_factory=RunSettings)
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
