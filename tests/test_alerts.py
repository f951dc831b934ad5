"""Alerts: what the rule raises, that nothing exposed leaks into it, and exactly-once delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts import DeliveryError, OutboxChannel
from alerts.dispatch import dispatch
from alerts.rules import immediate_alerts
from index.sqlite import SQLiteStore
from tests.factories import analysed
from vaktpost.schema import Alert, PiiSpan
from vaktpost.settings import AlertSettings, ImmediateRule

DOXX_TEXT = "Socialsekreteraren bor på Björkvägen 14B, ring 070-174 06 12"
SPANS = (
    PiiSpan(type="street_address", text="Björkvägen 14B", start=26, end=40),
    PiiSpan(type="phone", text="070-174 06 12", start=47, end=60),
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "store.db")
    yield opened
    opened.close()


class FlakyChannel:
    """A real channel that fails a set number of times first, like a mail server that is briefly down."""

    name = "flaky"

    def __init__(self, failures: int, outbox: OutboxChannel) -> None:
        self.failures = failures
        self.outbox = outbox

    def send(self, alert: Alert) -> None:
        if self.failures:
            self.failures -= 1
            raise DeliveryError("connection refused")
        self.outbox.send(alert)


def test_immediate_rule_picks_threats_and_doxxing_over_the_score() -> None:
    items = [
        analysed(1, text=DOXX_TEXT, flags=("doxxing",), score=0.9, pii=SPANS),
        analysed(2, flags=("threat",), score=0.55),
        analysed(3, flags=("harassment",), score=0.99),
        analysed(4),
    ]
    alerts = immediate_alerts(items, AlertSettings(immediate=ImmediateRule(min_score=0.6)))
    assert [a.post_id for a in alerts] == ["flashback:1"]
    assert alerts[0].labels == ["doxxing"] and alerts[0].pii_types == ["phone", "street_address"]
    assert alerts[0].link == "http://127.0.0.1:8000/inlagg/flashback%3A1"


def test_alert_carries_no_text_and_no_exposed_values() -> None:
    [alert] = immediate_alerts([analysed(1, text=DOXX_TEXT, flags=("doxxing",), pii=SPANS)], AlertSettings())
    body = alert.model_dump_json()
    for secret in ("Björkvägen", "070-174", "Socialsekreteraren", "Nick"):
        assert secret not in body


def test_delivered_once_across_reruns(store: SQLiteStore, tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path / "outbox.jsonl")
    alerts = immediate_alerts([analysed(1, flags=("threat",)), analysed(2, flags=("doxxing",))], AlertSettings())
    first = dispatch(alerts, store, [outbox])
    second = dispatch(alerts, store, [outbox])
    assert len(first.sent) == 2 and second.sent == [] and second.already_sent == 2
    lines = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["post_id"] for line in lines) == ["flashback:1", "flashback:2"]


def test_a_failed_delivery_is_retried_next_run_and_delivered_once(store: SQLiteStore, tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path / "outbox.jsonl")
    flaky = FlakyChannel(failures=1, outbox=outbox)
    alerts = immediate_alerts([analysed(1, flags=("threat",))], AlertSettings())
    first = dispatch(alerts, store, [flaky])
    assert first.failed == ["immediate:flashback:1"] and not (tmp_path / "outbox.jsonl").exists()
    second = dispatch(alerts, store, [flaky])  # next run: the same posts again, the receiver is back
    third = dispatch(alerts, store, [flaky])
    assert second.sent == ["immediate:flashback:1"] and third.sent == []
    assert len((tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()) == 1
    assert store.summary()["alerts"] == {"total": 1, "delivered": 1}
