"""Alerts: rules decide what calls for one, channels deliver it, dispatch makes sure each channel gets it once.

Public interface: ``send_alerts(items, store, settings, reports=..., run_id=...)`` for a run, and
``deliver_pending(store, settings)`` to send what waited (a receiver that was down, quiet hours).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from alerts.channels import Channel, DeliveryError, OutboxChannel, PermanentDeliveryError, build_channel
from alerts.dispatch import DispatchResult, Policy, dispatch
from alerts.rules import digest_alert, flatline_from_store, immediate_alerts, spike_alerts
from index import Store
from vaktpost.schema import Alert, AnalysedPost, SourceReport, utcnow
from vaktpost.settings import Settings

log = logging.getLogger(__name__)


def channels_for(settings: Settings) -> list[Channel]:
    """The configured channels (and the outbox, unless ``alerts.outbox = false``)."""
    return [build_channel(config, settings.data_dir) for config in settings.alerts.all_channels()]


def raise_alerts(
    items: Sequence[AnalysedPost],
    store: Store,
    settings: Settings,
    *,
    reports: Sequence[SourceReport] | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> list[Alert]:
    """What the rules call for: ``immediate`` on the posts, ``spike`` from the store, and, for a run (with its
    id and its sources' reports), ``flatline`` and the ``digest``."""
    now = now or utcnow()
    rules = settings.alerts
    alerts = immediate_alerts(items, rules)
    alerts += _guarded("spike", lambda: spike_alerts(store, rules, now))
    if run_id is not None:
        alerts += _guarded("flatline", lambda: flatline_from_store(store, reports or [], rules, run_id, now))
        digest = digest_alert(items, rules, run_id, now)
        if digest is not None:
            alerts.append(digest)
    return alerts


def _guarded(rule: str, evaluate: Callable[[], list[Alert]]) -> list[Alert]:
    """A rule over the store's history that cannot be evaluated now is skipped (and tried next run); the
    alerts on this run's posts still go out."""
    try:
        return evaluate()
    except Exception:
        log.exception("the %s rule could not be evaluated; it is tried again next run", rule)
        return []


def send_alerts(
    items: Sequence[AnalysedPost],
    store: Store,
    settings: Settings,
    *,
    reports: Sequence[SourceReport] | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> DispatchResult:
    """Raise the alerts the rules call for and deliver them, plus any left pending by earlier runs."""
    now = now or utcnow()
    alerts = raise_alerts(items, store, settings, reports=reports, run_id=run_id, now=now)
    return dispatch(alerts, store, channels_for(settings), Policy.from_settings(settings.alerts), now=now)


def deliver_pending(store: Store, settings: Settings, now: datetime | None = None) -> DispatchResult:
    """Deliver what waits: copies a receiver did not take, or held back through quiet hours."""
    return dispatch([], store, channels_for(settings), Policy.from_settings(settings.alerts), now=now)


__all__ = [
    "Channel",
    "DeliveryError",
    "DispatchResult",
    "OutboxChannel",
    "PermanentDeliveryError",
    "Policy",
    "channels_for",
    "deliver_pending",
    "raise_alerts",
    "send_alerts",
]
