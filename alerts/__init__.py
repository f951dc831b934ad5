"""Alerts: rules decide what calls for one, channels deliver it, dispatch makes sure it happens once.

Public interface: ``send_alerts(items, store, settings)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from alerts.channels import Channel, DeliveryError, OutboxChannel
from alerts.dispatch import DispatchResult, dispatch
from alerts.rules import immediate_alerts
from index import Store
from vaktpost.datadir import DataDir
from vaktpost.schema import AnalysedPost
from vaktpost.settings import Settings


def channels_for(settings: Settings) -> list[Channel]:
    channels: list[Channel] = []
    if settings.alerts.outbox:
        channels.append(OutboxChannel(DataDir(settings.data_dir).alerts / "outbox.jsonl"))
    return channels


def send_alerts(items: Sequence[AnalysedPost], store: Store, settings: Settings) -> DispatchResult:
    """Raise the alerts the rules call for on these posts and deliver them (plus any left pending)."""
    return dispatch(immediate_alerts(items, settings.alerts), store, channels_for(settings))


__all__ = ["Channel", "DeliveryError", "DispatchResult", "OutboxChannel", "send_alerts"]
