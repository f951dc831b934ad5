"""Alert rules: what calls for an alert, and what the alert may say.

- ``immediate``: a post flagged with a watched label at or above its score, or exposing a protected staff
  member (a watch-list exposure) at or above ``protected_staff_min_score``; one alert per post.
- ``spike``: a label's flagged posts per day well above the days before (a z-score), from the store; one
  alert per label and day.
- ``flatline``: a source that failed or fetched nothing in N runs in a row, from the run history; one alert
  per source and streak.
- ``digest``: a summary of what a run flagged; one per run.

An alert names the kinds of harm and of exposed data, never the exposed values, the post text or the author.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

from index import SearchQuery, Store
from vaktpost.schema import LABELS, Alert, AnalysedPost, Label, RunReport, Severity, SourceReport, utcnow
from vaktpost.settings import AlertSettings, FlatlineRule

MAX_HISTORY = 4096
"""The most runs the flatline rule looks back over to find where a streak began."""


def immediate_alerts(items: Iterable[AnalysedPost], settings: AlertSettings) -> list[Alert]:
    """The ``immediate`` rule on a run's posts."""
    rule = settings.immediate
    if not rule.enabled:
        return []
    alerts = []
    for item in items:
        verdict = item.verdict
        labels: list[Label] = [
            label for label in rule.labels if label in verdict.flags and verdict.scores[label] >= rule.score_for(label)
        ]
        exposures = [
            exposure
            for exposure in verdict.exposures
            if rule.protected_staff
            and exposure.person.startswith("watchlist:")
            and exposure.score >= rule.protected_staff_min_score
        ]
        if exposures and "doxxing" not in labels:
            labels.append("doxxing")
        if not labels:
            continue
        staff = sorted({exposure.person.removeprefix("watchlist:") for exposure in exposures})
        kinds = {span.type for span in verdict.pii} | {kind for e in verdict.exposures for kind in e.exposed}
        score = max([verdict.scores[label] for label in labels] + [e.score for e in exposures])
        facts: dict[str, int | float | str] = {"score": round(score, 2)}
        if staff:
            facts["protected_staff"] = len(staff)
        alerts.append(
            Alert(
                id=f"immediate:{item.post.id}",
                rule="immediate",
                post_id=item.post.id,
                severity=Severity(rule.severity),
                labels=[label for label in LABELS if label in labels],
                pii_types=sorted(kinds),
                source=item.post.source,
                post_created_at=item.post.created_at,
                link=review_link(settings.review_url, item.post.id),
                staff=staff,
                facts=facts,
            )
        )
    return alerts


def spike_alerts(store: Store, settings: AlertSettings, now: datetime | None = None) -> list[Alert]:
    """The ``spike`` rule: yesterday's and today's (UTC) flagged posts per label against the ``baseline_days``
    before each day. Fires when the day has at least ``min_count`` posts and a z-score of at least
    ``z_threshold``; the standard deviation is taken as at least the square root of the mean (and 1), as for
    counts, so that a very even history does not make any small rise a spike."""
    rule = settings.spike
    if not rule.enabled:
        return []
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=1), today]
    first = days[0] - timedelta(days=rule.baseline_days)
    alerts = []
    for label in rule.labels:
        query = SearchQuery(labels=[label], since=_midnight(first), until=_midnight(today + timedelta(days=1)))
        per_day = store.counts(query, "day")
        for day in days:
            count = per_day.get(day.isoformat(), 0)
            history = [per_day.get((day - timedelta(days=n)).isoformat(), 0) for n in range(1, rule.baseline_days + 1)]
            mean = statistics.fmean(history)
            sd = statistics.pstdev(history)
            z = (count - mean) / max(sd, math.sqrt(mean), 1.0)
            if count < rule.min_count or z < rule.z_threshold:
                continue
            alerts.append(
                Alert(
                    id=f"spike:{label}:{day.isoformat()}",
                    rule="spike",
                    severity=Severity(rule.severity),
                    labels=[label],
                    link=overview_link(settings.review_url),
                    facts={
                        "day": day.isoformat(),
                        "count": count,
                        "mean": round(mean, 2),
                        "sd": round(sd, 2),
                        "z": round(z, 2),
                        "baseline_days": rule.baseline_days,
                    },
                    created_at=now,
                )
            )
    return alerts


def flatline_alerts(
    current: Sequence[SourceReport],
    history: Sequence[RunReport],
    settings: AlertSettings,
    run_id: str,
    now: datetime | None = None,
) -> list[Alert]:
    """The ``flatline`` rule over this run's source reports and earlier runs (newest first). A streak is
    named by the run it began in, so a source alerts once per streak, and again only after a recovery."""
    rule = settings.flatline
    if not rule.enabled:
        return []
    now = now or utcnow()
    alerts = []
    for source, streak in streaks(current, history, rule, run_id, now).items():
        if len(streak) < rule.runs:
            continue
        reports = [report for _, _, report in streak]
        begun_in, begun_at, _ = streak[-1]
        error = next((r.error for r in reports if r.error), None)
        facts: dict[str, int | float | str] = {
            "runs": len(streak),
            "failed": sum(not r.ok for r in reports),
            "empty": sum(r.ok for r in reports),
            "since": begun_at.isoformat(),
            "first_run": begun_in,
        }
        if error:
            facts["error"] = error if len(error) <= 200 else error[:199] + "…"
        alerts.append(
            Alert(
                id=f"flatline:{source}:{begun_in}",
                rule="flatline",
                severity=Severity(rule.severity),
                source=source,
                link=overview_link(settings.review_url),
                facts=facts,
                created_at=now,
            )
        )
    return alerts


def streaks(
    current: Sequence[SourceReport],
    history: Sequence[RunReport],
    rule: FlatlineRule,
    run_id: str,
    now: datetime | None = None,
) -> dict[str, list[tuple[str, datetime, SourceReport]]]:
    """Per source that failed (or fetched nothing) in this run: the runs in a row it did so, this one first,
    as (run id, run start, its report). A run without the source ends the streak."""
    started = now or utcnow()
    earlier = [run for run in history if run.run_id != run_id]
    found: dict[str, list[tuple[str, datetime, SourceReport]]] = {}
    for report in current:
        if not _dry(report, rule):
            continue
        streak = [(run_id, started, report)]
        for run in earlier:
            previous = next((r for r in run.sources if r.name == report.name), None)
            if previous is None or not _dry(previous, rule):
                break
            streak.append((run.run_id, run.started_at, previous))
        found[report.name] = streak
    return found


def flatline_from_store(
    store: Store, current: Sequence[SourceReport], settings: AlertSettings, run_id: str, now: datetime | None = None
) -> list[Alert]:
    """``flatline_alerts`` over the store's run history, reading as far back as the longest streak needs."""
    rule = settings.flatline
    if not rule.enabled or not current:
        return []
    limit = rule.runs + 1
    while True:
        history = store.last_runs(limit)
        earlier = [run for run in history if run.run_id != run_id]
        longest = max((len(s) for s in streaks(current, history, rule, run_id).values()), default=0)
        if len(history) < limit or longest - 1 < len(earlier) or limit >= MAX_HISTORY:  # no streak reaches back further
            return flatline_alerts(current, history, settings, run_id, now)
        limit = min(limit * 4, MAX_HISTORY)


def digest_alert(
    items: Sequence[AnalysedPost], settings: AlertSettings, run_id: str, now: datetime | None = None
) -> Alert | None:
    """The ``digest`` rule: one summary of what the run flagged (counts per label and source, links)."""
    rule = settings.digest
    if not rule.enabled:
        return None
    unique = {item.post.id: item for item in items}
    flagged = sorted(
        (item for item in unique.values() if item.verdict.flags),
        key=lambda item: (-item.verdict.severity, item.post.id),
    )
    if not flagged and not rule.send_empty:
        return None
    by_label = Counter(label for item in flagged for label in item.verdict.flags)
    by_source = Counter(item.post.source for item in flagged)
    protected = sum(bool(item.verdict.protected_staff) for item in flagged)
    facts: dict[str, int | float | str] = {"run_id": run_id, "flagged": len(flagged)}
    if protected:
        facts["protected_staff"] = protected
    return Alert(
        id=f"digest:{run_id}",
        rule="digest",
        severity=Severity(rule.severity),
        labels=[label for label in LABELS if by_label[label]],
        link=settings.review_url.rstrip("/") + "/",
        links=[review_link(settings.review_url, item.post.id) for item in flagged[: rule.max_links]],
        counts={
            "label": {label: by_label[label] for label in LABELS if by_label[label]},
            "source": dict(sorted(by_source.items())),
        },
        facts=facts,
        created_at=now or utcnow(),
    )


def review_link(review_url: str, post_id: str) -> str:
    return f"{review_url.rstrip('/')}/inlagg/{quote(post_id, safe='')}"  # the review app's post view


def overview_link(review_url: str) -> str:
    return f"{review_url.rstrip('/')}/oversikt"


def _dry(report: SourceReport, rule: FlatlineRule) -> bool:
    return not report.ok or (rule.include_empty and report.fetched == 0)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
