"""Deliver alerts exactly once per rule and post, across reruns, restarts and crashes.

An alert is first claimed in the store (pending), then delivered, then marked delivered. One that was
claimed but not delivered (a crash, a receiver that was down) is retried at the start of the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from alerts.channels import Channel, DeliveryError
from index import Store
from vaktpost.schema import Alert, DeliveryStatus

log = logging.getLogger(__name__)


@dataclass
class DispatchResult:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    already_sent: int = 0


def dispatch(alerts: Sequence[Alert], store: Store, channels: Sequence[Channel]) -> DispatchResult:
    result = DispatchResult()
    queue = list(store.pending_alerts())
    for alert in alerts:
        if store.claim_alert(alert):
            queue.append(alert)
        else:
            result.already_sent += 1
    seen: set[str] = set()
    for alert in queue:
        if alert.id in seen:
            continue
        seen.add(alert.id)
        errors = []
        for channel in channels:
            try:
                channel.send(alert)
            except DeliveryError as err:
                errors.append(f"{channel.name}: {err}")
        if errors:
            store.mark_alert(alert.id, DeliveryStatus.failed, "; ".join(errors))
            result.failed.append(alert.id)
            log.warning("alert %s (%s) not delivered: %s", alert.id, alert.rule, "; ".join(errors))
        else:
            store.mark_alert(alert.id, DeliveryStatus.delivered)
            result.sent.append(alert.id)
    return result
