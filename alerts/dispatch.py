"""Deliver every alert exactly once to each of its channels, across reruns, restarts and crashes.

An alert is routed to the channels its rule names (``recipients``; every channel when unset) as one copy per
channel, ``"<rule>:<subject>@<channel>"``. Each copy is claimed in the store (pending) before anything is
sent, then delivered, then marked delivered (or failed, with the error). A copy that was claimed but not
delivered (a receiver that was down, quiet hours, a crash) is picked up again by the next dispatch; a copy that
was delivered is never sent again, so a receiver that fails and recovers gets exactly one delivery, and the
channels that worked are not sent to twice. (A crash in the instant between a receiver accepting a copy and
the store recording it sends that copy again at the next run: e-mails keep their Message-ID and webhooks
carry an ``Idempotency-Key`` so that receivers can tell.)

Within one dispatch a failing channel is tried ``attempts`` times with exponential backoff; once it has
failed that way, the rest of its copies wait for the next run instead of waiting on it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as clock
from zoneinfo import ZoneInfo

from alerts.channels import Channel, DeliveryError, PermanentDeliveryError
from index import Store
from vaktpost.schema import Alert, DeliveryStatus, Severity, utcnow
from vaktpost.settings import ALERT_TIMEZONE, RULES, AlertSettings

log = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo(ALERT_TIMEZONE)
_RANK = {Severity.critical: 0, Severity.high: 1, Severity.medium: 2, Severity.low: 3}


@dataclass
class DispatchResult:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    already_sent: int = 0
    held: list[str] = field(default_factory=list)
    """Non-critical copies kept pending through a rule's quiet hours."""
    waiting: list[str] = field(default_factory=list)
    """Copies for a channel that is no longer configured: kept pending, in case it comes back."""


@dataclass(frozen=True)
class Policy:
    """Who gets which rule's alerts, the rules' quiet hours, and how hard to try within one dispatch."""

    recipients: Mapping[str, Sequence[str] | None] = field(default_factory=dict)
    quiet_hours: Mapping[str, tuple[clock, clock]] = field(default_factory=dict)
    attempts: int = 1
    backoff_s: float = 0.0

    @classmethod
    def from_settings(cls, settings: AlertSettings) -> Policy:
        quiet = {name: window for name in RULES if (window := settings.rule(name).quiet_window()) is not None}
        return cls(
            recipients={name: settings.rule(name).recipients for name in RULES},
            quiet_hours=quiet,
            attempts=settings.attempts,
            backoff_s=settings.retry_backoff_s,
        )

    def quiet(self, rule: str, now: datetime) -> bool:
        """Whether ``now`` falls in the rule's quiet hours (Stockholm time)."""
        window = self.quiet_hours.get(rule)
        if window is None:
            return False
        start, end = window
        local = now.astimezone(STOCKHOLM).time()
        return start <= local < end if start < end else local >= start or local < end


def dispatch(
    alerts: Sequence[Alert],
    store: Store,
    channels: Sequence[Channel],
    policy: Policy | None = None,
    *,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DispatchResult:
    """Claim a copy of each alert per channel, then deliver what is pending: these and earlier runs' leftovers."""
    policy = policy or Policy()
    now = now or utcnow()
    result = DispatchResult()
    queue: list[Alert] = []
    for pending in store.pending_alerts():
        if pending.channel is None:  # claimed by an older Vaktpost, before delivery per channel
            queue += _claim(routed(pending, channels, policy), store, result)
            store.mark_alert(pending.id, DeliveryStatus.held, "replaced by one alert per channel")
        else:
            queue.append(pending)
    for alert in alerts:
        queue += _claim(routed(alert, channels, policy), store, result)

    by_name = {channel.name: channel for channel in channels}
    down: set[str] = set()
    seen: set[str] = set()
    for copy in sorted(queue, key=lambda a: (_RANK[a.severity], a.created_at)):
        if copy.id in seen:
            continue
        seen.add(copy.id)
        channel = by_name.get(copy.channel or "")
        if channel is None:
            result.waiting.append(copy.id)
            log.warning("alert %s waits for its channel %r, which is not configured", copy.id, copy.channel)
        elif copy.severity != Severity.critical and policy.quiet(copy.rule, now):
            result.held.append(copy.id)
        elif channel.name in down:
            result.failed.append(copy.id)  # not tried again in this run; still pending
        else:
            try:
                _deliver(channel, copy, policy, sleep)
            except DeliveryError as err:
                store.mark_alert(copy.id, DeliveryStatus.failed, str(err))
                result.failed.append(copy.id)
                if not isinstance(err, PermanentDeliveryError):
                    down.add(channel.name)
                log.warning("alert %s not delivered: %s", copy.id, err)
            else:
                store.mark_alert(copy.id, DeliveryStatus.delivered)
                result.sent.append(copy.id)
    return result


def routed(alert: Alert, channels: Sequence[Channel], policy: Policy) -> Iterator[Alert]:
    """The alert's copy for each channel its rule goes to. A watch-list id stays only in copies for the
    safety audience; the others still say that a protected staff member is exposed, not who."""
    if alert.channel is not None:
        yield alert
        return
    names = policy.recipients.get(alert.rule)
    for channel in channels:
        if names is not None and channel.name not in names:
            continue
        yield alert.model_copy(
            update={
                "id": f"{alert.id}@{channel.name}",
                "channel": channel.name,
                "staff": list(alert.staff) if channel.audience == "safety" else [],
            }
        )


def _claim(copies: Iterator[Alert], store: Store, result: DispatchResult) -> list[Alert]:
    claimed = []
    for copy in copies:
        if store.claim_alert(copy):
            claimed.append(copy)
        else:
            result.already_sent += 1
    return claimed


def _deliver(channel: Channel, alert: Alert, policy: Policy, sleep: Callable[[float], None]) -> None:
    delay = policy.backoff_s
    for attempt in range(1, max(policy.attempts, 1) + 1):
        try:
            channel.send(alert)
        except PermanentDeliveryError:
            raise
        except DeliveryError:
            if attempt >= policy.attempts:
                raise
            sleep(delay)
            delay *= 2
        except Exception as err:  # a bug in a channel must not stop the other alerts or the run
            log.exception("channel %s failed on alert %s", channel.name, alert.id)
            raise PermanentDeliveryError(f"{channel.name}: {type(err).__name__}") from err
        else:
            return
