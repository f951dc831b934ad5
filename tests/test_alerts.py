"""Alerts: what the rule raises, that nothing exposed leaks into it, and exactly-once delivery per channel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alerts import DeliveryError, OutboxChannel, PermanentDeliveryError, Policy
from alerts.dispatch import dispatch
from alerts.rules import immediate_alerts
from index.sqlite import SQLiteStore
from tests.factories import analysed
from vaktpost.schema import Alert, DeliveryStatus, PiiSpan, Severity
from vaktpost.settings import AlertSettings, Audience, DigestRule, ImmediateRule, SettingsError, load_settings

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

    audience: Audience = "operators"

    def __init__(self, failures: int, outbox: OutboxChannel, name: str = "flaky", permanent: bool = False) -> None:
        self.failures = failures
        self.outbox = outbox
        self.name = name
        self.tries = 0
        self.permanent = permanent

    def send(self, alert: Alert) -> None:
        self.tries += 1
        if self.failures:
            self.failures -= 1
            raise (PermanentDeliveryError if self.permanent else DeliveryError)("connection refused")
        self.outbox.send(alert)


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


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
    per_label = ImmediateRule(min_score=0.6, min_scores={"threat": 0.5})
    assert [a.post_id for a in immediate_alerts(items, AlertSettings(immediate=per_label))] == [
        "flashback:1",
        "flashback:2",
    ]


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
    assert sorted(str(line["post_id"]) for line in lines(tmp_path / "outbox.jsonl")) == ["flashback:1", "flashback:2"]
    assert {line["id"] for line in lines(tmp_path / "outbox.jsonl")} == {
        "immediate:flashback:1@outbox",
        "immediate:flashback:2@outbox",
    }


def test_a_failed_delivery_is_retried_next_run_and_delivered_once(store: SQLiteStore, tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path / "outbox.jsonl")
    flaky = FlakyChannel(failures=1, outbox=outbox)
    alerts = immediate_alerts([analysed(1, flags=("threat",))], AlertSettings())
    first = dispatch(alerts, store, [flaky])
    assert first.failed == ["immediate:flashback:1@flaky"] and not (tmp_path / "outbox.jsonl").exists()
    second = dispatch(alerts, store, [flaky])  # next run: the same posts again, the receiver is back
    third = dispatch(alerts, store, [flaky])
    assert second.sent == ["immediate:flashback:1@flaky"] and third.sent == []
    assert len(lines(tmp_path / "outbox.jsonl")) == 1
    assert store.summary()["alerts"] == {"total": 1, "delivered": 1}


def test_one_failing_channel_never_makes_the_others_send_twice(store: SQLiteStore, tmp_path: Path) -> None:
    good = OutboxChannel(tmp_path / "good.jsonl", name="good")
    flaky = FlakyChannel(failures=2, outbox=OutboxChannel(tmp_path / "flaky.jsonl"))
    alerts = immediate_alerts([analysed(1, flags=("threat",)), analysed(2, flags=("threat",))], AlertSettings())
    for _ in range(4):  # four runs over the same posts; the flaky channel is down for the first
        dispatch(alerts, store, [good, flaky])
    assert len(lines(tmp_path / "good.jsonl")) == 2 and len(lines(tmp_path / "flaky.jsonl")) == 2
    assert flaky.tries == 4  # runs 1 and 2: the first alert fails, the second is not tried then; run 3: both go
    assert store.summary()["alerts"] == {"total": 4, "delivered": 4}


def test_retries_with_exponential_backoff_within_a_dispatch(store: SQLiteStore, tmp_path: Path) -> None:
    waits: list[float] = []
    flaky = FlakyChannel(failures=2, outbox=OutboxChannel(tmp_path / "o.jsonl"))
    policy = Policy(attempts=3, backoff_s=0.5)
    alerts = immediate_alerts([analysed(1, flags=("threat",))], AlertSettings())
    result = dispatch(alerts, store, [flaky], policy, sleep=waits.append)
    assert result.sent == ["immediate:flashback:1@flaky"] and waits == [0.5, 1.0]
    refused = FlakyChannel(failures=1, outbox=OutboxChannel(tmp_path / "r.jsonl"), name="refused", permanent=True)
    alerts = immediate_alerts([analysed(2, flags=("threat",)), analysed(3, flags=("threat",))], AlertSettings())
    result = dispatch(alerts, store, [refused], policy, sleep=waits.append)
    assert refused.tries == 2 and len(result.failed) == 1 and len(result.sent) == 1  # a refusal is not retried


def test_quiet_hours_hold_back_non_critical_alerts_until_after(store: SQLiteStore, tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path / "outbox.jsonl")
    settings = AlertSettings(immediate=ImmediateRule(quiet_hours="22:00-07:00", severity="high"))
    policy = Policy.from_settings(settings)
    high = immediate_alerts([analysed(1, flags=("threat",))], settings)
    critical = [
        a.model_copy(update={"severity": Severity.critical})
        for a in immediate_alerts([analysed(2, flags=("threat",))], settings)
    ]
    night = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)  # 23:30 in Stockholm
    result = dispatch([*high, *critical], store, [outbox], policy, now=night)
    assert result.sent == ["immediate:flashback:2@outbox"] and result.held == ["immediate:flashback:1@outbox"]
    assert [a.id for a in store.pending_alerts()] == ["immediate:flashback:1@outbox"]
    early = dispatch(high, store, [outbox], policy, now=datetime(2026, 11, 21, 5, 59, tzinfo=UTC))  # 06:59
    assert early.sent == [] and early.held == ["immediate:flashback:1@outbox"]
    morning = dispatch(high, store, [outbox], policy, now=datetime(2026, 11, 21, 6, 0, tzinfo=UTC))  # 07:00
    assert morning.sent == ["immediate:flashback:1@outbox"]
    assert [line["post_id"] for line in lines(tmp_path / "outbox.jsonl")] == ["flashback:2", "flashback:1"]
    summer = Policy.from_settings(AlertSettings(digest=DigestRule(quiet_hours="22:00-07:00")))
    assert summer.quiet("digest", datetime(2026, 7, 1, 20, 30, tzinfo=UTC))  # 22:30 in summer time
    assert not summer.quiet("digest", datetime(2026, 7, 1, 19, 30, tzinfo=UTC))
    assert not summer.quiet("immediate", datetime(2026, 7, 1, 20, 30, tzinfo=UTC))


def test_recipients_route_each_rule_to_its_channels(store: SQLiteStore, tmp_path: Path) -> None:
    safety = OutboxChannel(tmp_path / "safety.jsonl", name="safety", audience="safety")
    comms = OutboxChannel(tmp_path / "comms.jsonl", name="comms", audience="communications")
    policy = Policy(recipients={"immediate": ["safety"]})
    alerts = immediate_alerts([analysed(1, flags=("threat",))], AlertSettings())
    dispatch(alerts, store, [safety, comms], policy)
    assert len(lines(tmp_path / "safety.jsonl")) == 1 and not lines(tmp_path / "comms.jsonl")


def test_an_alert_claimed_by_an_older_version_is_delivered_per_channel(store: SQLiteStore, tmp_path: Path) -> None:
    [legacy] = immediate_alerts([analysed(1, flags=("threat",))], AlertSettings())
    assert store.claim_alert(legacy)  # claimed and never delivered before the upgrade
    outbox = OutboxChannel(tmp_path / "outbox.jsonl")
    result = dispatch([], store, [outbox])
    assert result.sent == ["immediate:flashback:1@outbox"] and store.pending_alerts() == []
    assert store.summary()["alerts"] == {"total": 2, "delivered": 1, DeliveryStatus.held.value: 1}


def test_alert_settings_are_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def load(text: str) -> None:
        (tmp_path / "v.toml").write_text(text, encoding="utf-8")
        load_settings(tmp_path / "v.toml")

    with pytest.raises(SettingsError, match=r"alerts.digest.quiet_hours = '22-07': expected \"HH:MM-HH:MM\""):
        load('[alerts.digest]\nquiet_hours = "22-07"\n')
    with pytest.raises(
        SettingsError, match=r"recipients names \['teams'\], not channels; the channels are \['outbox'\]"
    ):
        load('[alerts.spike]\nrecipients = ["teams"]\n')
    with pytest.raises(SettingsError, match="has no url; set it in VAKTPOST_ALERT_KOMMUNIKATION_URL"):
        load('[[alerts.channels]]\nname = "kommunikation"\nkind = "teams"\n')
    monkeypatch.setenv("VAKTPOST_ALERT_KOMMUNIKATION_URL", "https://hooks.example/secret")
    load(
        '[[alerts.channels]]\nname = "kommunikation"\nkind = "teams"\n[alerts.spike]\nrecipients = ["kommunikation"]\n'
    )
    mail = '[[alerts.channels]]\nname = "post"\nkind = "email"\nhost = "{host}"\nfrom = "a@b.se"\nto = ["c@d.se"]\n'
    with pytest.raises(SettingsError, match="has a username but no password; set VAKTPOST_ALERT_POST_PASSWORD"):
        load(mail.format(host="smtp.example") + 'username = "u"\n')
    monkeypatch.setenv("VAKTPOST_ALERT_POST_PASSWORD", "hemligt")
    with pytest.raises(SettingsError, match="would send its password unencrypted"):
        load(mail.format(host="smtp.example") + 'username = "u"\ntls = "none"\n')
    with pytest.raises(SettingsError, match="must be an http:// or https:// URL") as raised:
        load('[[alerts.channels]]\nname = "t"\nkind = "teams"\nurl = "ftp://hooks.example/hemlig-nyckel"\n')
    assert "hemlig-nyckel" not in str(raised.value)
    with pytest.raises(SettingsError, match="password must be ASCII") as raised:
        load(mail.format(host="smtp.example") + 'username = "u"\npassword = "hemlig-lösen"\n')
    assert "hemlig-lösen" not in str(raised.value)
    with pytest.raises(SettingsError, match="two alert channels are named 'outbox'"):
        load('[[alerts.channels]]\nname = "outbox"\nkind = "outbox"\n' * 2)


def test_the_documented_settings_are_valid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every TOML example in docs/alerts.md loads (with its secrets in the environment)."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "alerts.md").read_text(encoding="utf-8")
    examples = [block.split("```", 1)[0] for block in docs.split("```toml\n")[1:]]
    assert len(examples) >= 3
    for name in ("SAKERHET", "KOMMUNIKATION", "DRIFT", "SIEM", "MATTERMOST"):
        monkeypatch.setenv(f"VAKTPOST_ALERT_{name}_URL", "https://hooks.example/x")
        monkeypatch.setenv(f"VAKTPOST_ALERT_{name}_PASSWORD", "hemligt")
    for number, example in enumerate(examples):
        path = tmp_path / f"example{number}.toml"
        path.write_text(example, encoding="utf-8")
        load_settings(path)


def test_alerts_send_command_delivers_what_waits(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("VAKTPOST_")}
    env["VAKTPOST_DATA_DIR"] = str(tmp_path / "var")
    done = subprocess.run(
        [sys.executable, "-m", "vaktpost.cli", "alerts", "send"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "sent 0, not delivered 0" in done.stdout
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    env["VAKTPOST_STORE__SQLITE_PATH"] = str(blocker / "store.db")
    done = subprocess.run(
        [sys.executable, "-m", "vaktpost.cli", "alerts", "send"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and str(blocker) in done.stderr
