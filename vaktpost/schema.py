"""The data that travels between the stages: every stage speaks this schema and nothing else.

Versioned so that stored and spooled records written by an older Vaktpost can be recognised and migrated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 3
"""2: posts gained ``metrics`` and ``forwarded_from``; 3: verdicts gained ``exposures`` (older records still read)."""

Label = Literal["disinformation", "doxxing", "threat", "harassment"]

LABELS: tuple[Label, ...] = ("disinformation", "doxxing", "threat", "harassment")
"""The four harms the analysis scores, in the order reports show them."""


def _as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_as_utc)]
"""A timezone-aware timestamp, normalised to UTC; naive timestamps are rejected, never guessed."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Evidence(_Record):
    """Where the raw response a post was extracted from is kept, and its digest."""

    warc_file: str = Field(description="WARC file path, relative to the data dir")
    record_id: str = Field(description="WARC-Record-ID of the response record")
    offset: int = Field(ge=0, description="byte offset of the record in the WARC file")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the HTTP response body")
    target_uri: str
    fetched_at: UtcDatetime


class Post(_Record):
    """One public post, as collected. Author identity is a keyed-hash pseudonym, never the handle."""

    schema_version: int = SCHEMA_VERSION
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*:.+$", description='"<source>:<native id>"')
    source: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    url: str
    author_id: str | None = Field(default=None, description="keyed-hash pseudonym of the author")
    author_name: str | None = Field(default=None, description="display name; only kept for flagged posts")
    title: str | None = Field(default=None, description="title of the thread or post, when the source has one")
    text: str = Field(description="the author's own words, quotes removed")
    quoted_text: str | None = Field(default=None, description="text quoted from others, kept apart")
    lang: str | None = None
    created_at: UtcDatetime
    collected_at: UtcDatetime
    thread_id: str | None = None
    reply_to: str | None = None
    forwarded_from: str | None = Field(
        default=None, description="public name of the channel or account a forwarded post came from"
    )
    metrics: dict[str, int] = Field(default_factory=dict, description="platform counters: views, replies, score")
    evidence: Evidence | None = None

    @model_validator(mode="after")
    def _id_matches_source(self) -> Post:
        if not self.id.startswith(f"{self.source}:"):
            raise ValueError(f"id {self.id!r} must start with the source name {self.source!r} and a colon")
        return self

    @property
    def native_id(self) -> str:
        return self.id.split(":", 1)[1]


class PiiSpan(_Record):
    """A piece of personal data found in a post's text (character offsets into ``Post.text``)."""

    type: str
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    score: float = Field(default=1.0, ge=0.0, le=1.0)


class Explanation(_Record):
    """A span of the post that contributed to a label's score, and why."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    reason: str
    weight: float = Field(ge=0.0, le=1.0)


class Severity(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"


class Exposure(_Record):
    """One person's exposure in a post: who, what was exposed, how severe, and the spans behind it."""

    person: str = Field(description='"watchlist:<id>" for a protected staff member, "staff" for one not on the list')
    name: PiiSpan | None = Field(default=None, description="how the post names the person, if it does")
    exposed: list[str] = Field(default_factory=list, description="kinds of exposed data, e.g. street_address")
    spans: list[PiiSpan] = Field(default_factory=list, description="the spans that explain the exposure")
    solicitation: bool = Field(default=False, description="the post asks others to find or publish details")
    severity: Severity
    score: float = Field(ge=0.0, le=1.0)


class Verdict(_Record):
    """What the analysis concluded about one post."""

    schema_version: int = SCHEMA_VERSION
    post_id: str
    scores: dict[Label, float]
    flags: list[Label] = Field(default_factory=list, description="labels at or over their thresholds")
    pii: list[PiiSpan] = Field(default_factory=list)
    explanations: dict[Label, list[Explanation]] = Field(default_factory=dict)
    exposures: list[Exposure] = Field(default_factory=list, description="doxxing assessment, one per person")
    model: dict[str, str] = Field(default_factory=dict, description="component name -> version")
    analysed_at: UtcDatetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _complete(self) -> Verdict:
        missing = [label for label in LABELS if label not in self.scores]
        if missing:
            raise ValueError(f"scores missing for {missing}")
        for label, score in self.scores.items():
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"score for {label} is {score}, expected 0..1")
        return self

    @property
    def protected_staff(self) -> list[str]:
        """Watch-list ids of the protected staff members this post exposes."""
        return [e.person.removeprefix("watchlist:") for e in self.exposures if e.person.startswith("watchlist:")]

    @property
    def severity(self) -> float:
        """Highest score among the flagged labels: how the review queue orders posts."""
        return max((self.scores[label] for label in self.flags), default=0.0)


class AnalysedPost(_Record):
    """A post and its verdict: the unit the store indexes and alerts are raised on."""

    post: Post
    verdict: Verdict

    @model_validator(mode="after")
    def _same_post(self) -> AnalysedPost:
        if self.post.id != self.verdict.post_id:
            raise ValueError(f"verdict for {self.verdict.post_id!r} attached to post {self.post.id!r}")
        return self


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"
    held = "held"


class Alert(_Record):
    """A notice that a rule fired. Carries no post text, no author and no exposed personal data by construction:
    the kinds of harm and of exposed data, counts, a source name, times and links.

    One alert is raised per rule and subject (a post, a label and day, a source's streak, a run) and delivered
    to each of its channels as a copy of its own (``channel`` set, ``id`` ending in ``@<channel>``), so that
    every channel gets it exactly once.
    """

    schema_version: int = SCHEMA_VERSION
    id: str = Field(description='"<rule>:<subject>", and "<rule>:<subject>@<channel>" for a copy; once, ever')
    rule: str
    post_id: str = Field(default="", description="the post alerted on; empty for spike, flatline and digest")
    severity: Severity
    labels: list[Label] = Field(default_factory=list)
    pii_types: list[str] = Field(default_factory=list, description="kinds of exposed data, never values")
    source: str | None = None
    post_created_at: UtcDatetime | None = None
    link: str | None = Field(default=None, description="where to look: the post in the review app, or its overview")
    links: list[str] = Field(default_factory=list, description="a digest's links to the posts it sums up")
    staff: list[str] = Field(
        default_factory=list,
        description="watch-list ids of exposed protected staff; only in copies for safety-officer channels",
    )
    facts: dict[str, int | float | str] = Field(
        default_factory=dict, description="figures: a spike's count and baseline, a flatline's streak, ..."
    )
    counts: dict[str, dict[str, int]] = Field(
        default_factory=dict, description='the flagged posts a digest sums up, per "label" and per "source"'
    )
    channel: str | None = Field(default=None, description="the channel this copy is for (None: not yet routed)")
    created_at: UtcDatetime = Field(default_factory=utcnow)

    @property
    def base_id(self) -> str:
        """The id of the alert this is a copy of (the same for every channel)."""
        suffix = f"@{self.channel}"
        return self.id.removesuffix(suffix) if self.channel and self.id.endswith(suffix) else self.id


class SourceReport(_Record):
    """What one source's crawl produced in a run."""

    name: str
    kind: str
    fetched: int = 0
    new: int = 0
    failed: int = 0
    ok: bool = True
    error: str | None = None
    failures: dict[str, int] = Field(default_factory=dict, description="failure reason -> count")
    notes: dict[str, int] = Field(default_factory=dict, description="not failures: skipped on purpose, undated...")
    duration_s: float = 0.0


class RunReport(_Record):
    """The summary a run ends with: shown on the console, stored, and kept as a Prefect artifact."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    started_at: UtcDatetime
    finished_at: UtcDatetime
    outcome: Literal["completed", "partial", "failed"]
    demo: bool = False
    sources: list[SourceReport]
    analysed: int = 0
    flags: dict[Label, int] = Field(default_factory=dict)
    alerts_sent: int = 0
    alerts_failed: int = 0
    spooled: int = Field(default=0, description="analysed posts the store could not take, kept in the spool")
    delivered_from_spool: int = Field(default=0, description="posts from earlier runs' spool stored in this one")
    purged: int = Field(default=0, description="posts deleted by the retention purge")
    errors: list[str] = Field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def fetched(self) -> int:
        return sum(s.fetched for s in self.sources)

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)
