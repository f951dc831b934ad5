"""The alert rules on real data: protected staff in the immediate rule, spikes over synthetic 14-day histories
in a real SQLite store, flatlines over synthetic run reports, and the run digest; each fires once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts import OutboxChannel, Policy, send_alerts
from alerts.dispatch import dispatch
from alerts.rules import digest_alert, flatline_alerts, flatline_from_store, immediate_alerts, spike_alerts
from index.sqlite import SQLiteStore
from tests.factories import BASE, analysed
from vaktpost.schema import AnalysedPost, Exposure, Label, PiiSpan, RunReport, SourceReport
from vaktpost.settings import (
    AlertSettings,
    DigestRule,
    FlatlineRule,
    ImmediateRule,
    Settings,
    SpikeRule,
)

NOW = BASE + timedelta(hours=6)  # 2026-11-20 18:00 UTC


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "store.db")
    yield opened
    opened.close()


def exposing(number: int, person: str, score: float, flags: tuple[Label, ...] = ()) -> AnalysedPost:
    span = PiiSpan(type="street_address", text="Storgatan 1", start=0, end=11)
    item = analysed(number, text="Storgatan 1", flags=flags, score=0.3, pii=(span,))
    exposure = Exposure(person=person, exposed=["street_address"], spans=[span], severity="high", score=score)
    return AnalysedPost(post=item.post, verdict=item.verdict.model_copy(update={"exposures": [exposure]}))


def test_exposing_a_protected_staff_member_is_immediate() -> None:
    items = [
        exposing(1, "watchlist:ws-7", 0.8),  # not flagged as doxxing at its threshold, but a protected colleague
        exposing(2, "watchlist:ws-8", 0.3),  # below protected_staff_min_score
        exposing(3, "staff", 0.9),  # a colleague not on the watch-list, and not flagged
    ]
    [alert] = immediate_alerts(items, AlertSettings())
    assert (alert.post_id, alert.labels, alert.staff, alert.facts) == (
        "flashback:1",
        ["doxxing"],
        ["ws-7"],
        {"score": 0.8, "protected_staff": 1},
    )
    assert alert.pii_types == ["street_address"]
    assert immediate_alerts(items, AlertSettings(immediate=ImmediateRule(protected_staff=False))) == []
    lower = ImmediateRule(protected_staff_min_score=0.2)
    assert [a.staff for a in immediate_alerts(items, AlertSettings(immediate=lower))] == [["ws-7"], ["ws-8"]]


# -- spike -----------------------------------------------------------------------------------------------


def history(store: SQLiteStore, label: Label, per_day: Sequence[int], start: int) -> int:
    """Flagged posts with ``label``: per_day[0] today, per_day[n] n days before; returns the next post number."""
    items = []
    number = start
    for days_ago, count in enumerate(per_day):
        for n in range(count):
            created = -24 * days_ago + 1 + (n % 5) - 12  # hours from BASE (12:00): 01:00-05:00 that day
            items.append(analysed(number, flags=(label,), hours=created))
            number += 1
    store.upsert(items)
    return number


def test_a_spike_fires_and_a_normal_or_quiet_day_does_not(store: SQLiteStore) -> None:
    normal = [4, 3, 5, 4, 2, 3, 4, 5, 3, 4, 4, 3, 5, 4, 3, 4]  # today, yesterday, then 14 days of baseline
    number = history(store, "threat", [25, *normal[1:]], 1)  # today: 25 threats against ~4 a day
    number = history(store, "harassment", normal, number)  # an ordinary day
    history(store, "disinformation", [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], number)  # few: below min_count
    settings = AlertSettings(spike=SpikeRule(enabled=True))
    [alert] = spike_alerts(store, settings, NOW)
    assert alert.id == "spike:threat:2026-11-20" and alert.labels == ["threat"]
    assert alert.facts["count"] == 25 and alert.facts["mean"] == pytest.approx(52 / 14, abs=0.01)
    assert float(alert.facts["z"]) >= 3 and alert.link == "http://127.0.0.1:8000/oversikt"
    lower = spike_alerts(store, AlertSettings(spike=SpikeRule(enabled=True, min_count=3)), NOW)
    assert [a.labels for a in lower] == [["disinformation"], ["threat"]]
    assert spike_alerts(store, AlertSettings(spike=SpikeRule(enabled=True, z_threshold=50)), NOW) == []
    assert spike_alerts(store, AlertSettings(), NOW) == []  # off by default


def test_a_spike_alerts_once_per_label_and_day(store: SQLiteStore, tmp_path: Path) -> None:
    history(store, "threat", [12, 1, 1, 0, 1, 2, 1, 1, 0, 1, 1, 1, 2, 1, 0, 1], 1)
    settings = AlertSettings(spike=SpikeRule(enabled=True))
    outbox = OutboxChannel(tmp_path / "outbox.jsonl")
    first = dispatch(spike_alerts(store, settings, NOW), store, [outbox])
    later_today = dispatch(spike_alerts(store, settings, NOW + timedelta(hours=5)), store, [outbox])
    tomorrow = dispatch(spike_alerts(store, settings, NOW + timedelta(days=1)), store, [outbox])  # now "yesterday"
    assert first.sent == ["spike:threat:2026-11-20@outbox"]
    assert later_today.sent == tomorrow.sent == [] and tomorrow.already_sent == 1
    [line] = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert '"post_id"' not in line and '"rule": "spike"' in line


# -- flatline --------------------------------------------------------------------------------------------


def run(number: int, **sources: tuple[int, bool]) -> RunReport:
    """A run report; each source given as (fetched, ok)."""
    started = BASE - timedelta(days=30) + timedelta(days=number)
    return RunReport(
        run_id=f"r{number:02d}",
        started_at=started,
        finished_at=started + timedelta(minutes=5),
        outcome="completed",
        sources=[
            SourceReport(name=name, kind="flashback", fetched=fetched, ok=ok, error=None if ok else "HTTP 503")
            for name, (fetched, ok) in sources.items()
        ],
    )


def test_a_source_that_keeps_failing_alerts_once_per_streak(store: SQLiteStore, tmp_path: Path) -> None:
    settings = AlertSettings(flatline=FlatlineRule(enabled=True, runs=3))
    outbox = OutboxChannel(tmp_path / "outbox.jsonl")
    pattern = [(5, True), (0, False), (0, True), (0, False), (0, False), (0, False), (7, True), (0, False)]
    pattern += [(0, False), (0, False)]
    sent = []
    for number, (fetched, ok) in enumerate(pattern, 1):
        current = run(number, forum=(fetched, ok), mastodon=(3, True))
        alerts = flatline_from_store(store, current.sources, settings, current.run_id, current.started_at)
        sent += dispatch(alerts, store, [outbox]).sent
        store.record_run(current)
    # runs 2-6 form one streak (failed, empty, failed...): one alert at run 4; run 7 recovers; 8-10 a new one
    assert sent == ["flatline:forum:r02@outbox", "flatline:forum:r08@outbox"]
    alert = flatline_alerts(
        run(11, forum=(0, False)).sources, store.last_runs(20), settings, "r11", BASE - timedelta(days=19)
    )[0]
    assert alert.facts == {
        "runs": 4,
        "failed": 4,
        "empty": 0,
        "since": (BASE - timedelta(days=22)).isoformat(),
        "first_run": "r08",
        "error": "HTTP 503",
    }
    only_failures = AlertSettings(flatline=FlatlineRule(enabled=True, runs=3, include_empty=False))
    reports = run(5, forum=(0, True)).sources
    history = [run(4, forum=(0, False)), run(3, forum=(0, False)), run(2, forum=(0, False))]
    assert flatline_alerts(reports, history, only_failures, "r05") == []
    assert [a.id for a in flatline_alerts(reports, history, settings, "r05")] == ["flatline:forum:r02"]


def test_a_long_streak_keeps_its_beginning(store: SQLiteStore) -> None:
    """The store's history is read as far back as the streak goes, so a long streak is never renamed."""
    settings = AlertSettings(flatline=FlatlineRule(enabled=True, runs=2))
    for number in range(1, 20):
        store.record_run(run(number, forum=(0, False)))
    [alert] = flatline_from_store(store, run(20, forum=(0, False)).sources, settings, "r20")
    assert alert.id == "flatline:forum:r01" and alert.facts["runs"] == 20


# -- digest ----------------------------------------------------------------------------------------------


def test_the_digest_sums_up_a_run_once(store: SQLiteStore, tmp_path: Path, settings: Settings) -> None:
    items = [
        analysed(1, flags=("threat",), score=0.9),
        analysed(2, flags=("threat", "harassment"), score=0.6, source="mastodon"),
        analysed(3),
        exposing(4, "watchlist:ws-7", 0.8, flags=("doxxing",)),
    ]
    rules = AlertSettings(digest=DigestRule(enabled=True, max_links=2))
    digest = digest_alert(items, rules, "r1", NOW)
    assert digest is not None and digest.id == "digest:r1" and digest.staff == []
    assert digest.counts == {
        "label": {"doxxing": 1, "threat": 2, "harassment": 1},
        "source": {"flashback": 2, "mastodon": 1},
    }
    assert digest.links == ["http://127.0.0.1:8000/inlagg/flashback%3A1", "http://127.0.0.1:8000/inlagg/mastodon%3A2"]
    assert digest.facts == {"run_id": "r1", "flagged": 3, "protected_staff": 1}
    assert digest_alert([analysed(5)], rules, "r2", NOW) is None
    assert digest_alert([], AlertSettings(digest=DigestRule(enabled=True, send_empty=True)), "r2", NOW) is not None

    settings = settings.model_copy(update={"alerts": rules})
    first = send_alerts(items, store, settings, run_id="r1", now=NOW)
    again = send_alerts(items, store, settings, run_id="r1", now=NOW)
    assert sorted(first.sent) == [
        "digest:r1@outbox",
        "immediate:flashback:1@outbox",
        "immediate:flashback:4@outbox",
        "immediate:mastodon:2@outbox",
    ]
    assert again.sent == [] and again.already_sent == 4
    assert Policy.from_settings(rules).recipients["digest"] is None


def test_every_rule_through_send_alerts_with_quiet_hours(store: SQLiteStore, settings: Settings) -> None:
    """The nightly flow's call: a critical immediate alert goes out at night, the rest waits for the morning."""
    history(store, "threat", [15, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1], 100)
    store.record_run(run(1, forum=(0, False)))
    rules = AlertSettings(
        spike=SpikeRule(enabled=True, quiet_hours="22:00-07:00"),
        flatline=FlatlineRule(enabled=True, runs=2, quiet_hours="22:00-07:00"),
        digest=DigestRule(enabled=True, quiet_hours="22:00-07:00"),
    )
    settings = settings.model_copy(update={"alerts": rules})
    night = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)  # midnight in Stockholm
    items = [analysed(1, flags=("threat",))]
    result = send_alerts(items, store, settings, reports=run(2, forum=(0, False)).sources, run_id="r02", now=night)
    assert result.sent == ["immediate:flashback:1@outbox"]
    assert sorted(result.held) == ["digest:r02@outbox", "flatline:forum:r01@outbox", "spike:threat:2026-11-20@outbox"]
    morning = datetime(2026, 11, 21, 6, 30, tzinfo=UTC)
    later = send_alerts([], store, settings, reports=run(3, forum=(0, False)).sources, run_id="r03", now=morning)
    assert sorted(later.sent) == sorted(result.held) and later.held == []
    assert store.pending_alerts() == []
