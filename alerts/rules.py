"""Alert rules: which analysed posts call for an alert, and what the alert may say.

An alert names the kind of harm and the kinds of exposed data, never the exposed values or the post text.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from vaktpost.schema import Alert, AnalysedPost, Label, Severity
from vaktpost.settings import AlertSettings


def immediate_alerts(items: Iterable[AnalysedPost], settings: AlertSettings) -> list[Alert]:
    """The ``immediate`` rule: a post flagged with a watched label at or above the rule's score."""
    rule = settings.immediate
    if not rule.enabled:
        return []
    alerts = []
    for item in items:
        verdict = item.verdict
        labels: list[Label] = [
            label for label in rule.labels if label in verdict.flags and verdict.scores[label] >= rule.min_score
        ]
        if not labels:
            continue
        alerts.append(
            Alert(
                id=f"immediate:{item.post.id}",
                rule="immediate",
                post_id=item.post.id,
                severity=Severity(rule.severity),
                labels=labels,
                pii_types=sorted({span.type for span in verdict.pii}),
                source=item.post.source,
                post_created_at=item.post.created_at,
                link=review_link(settings.review_url, item.post.id),
            )
        )
    return alerts


def review_link(review_url: str, post_id: str) -> str:
    return f"{review_url.rstrip('/')}/inlagg/{quote(post_id, safe='')}"  # the review app's post view
