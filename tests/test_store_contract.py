"""One contract, every backend: SQLite always, Elasticsearch whenever VAKTPOST_ES_URL names a cluster.

Each test runs against a fresh store: a new SQLite file, or a new index prefix that is dropped afterwards.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from index import NotFoundError, RetentionPolicy, ReviewUpdate, SearchQuery, Store
from tests.factories import BASE, analysed
from vaktpost.schema import AnalysedPost, DeliveryStatus, Exposure, RunReport, Severity

ES_URL = os.environ.get("VAKTPOST_ES_URL")


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        from index.sqlite import SQLiteStore

        sqlite = SQLiteStore(tmp_path / "store.db")
        yield sqlite
        sqlite.close()
        return
    if not ES_URL:
        pytest.skip("set VAKTPOST_ES_URL to run the contract suite against an Elasticsearch cluster")
    from index.elasticsearch import ElasticsearchStore

    cluster = ElasticsearchStore.from_url(ES_URL, index_prefix=f"vaktpost-test-{uuid.uuid4().hex[:8]}")
    try:
        yield cluster
    finally:
        cluster.drop_all()
        cluster.close()


def ids(store: Store, query: SearchQuery) -> list[str]:
    return [item.post.id for item in store.search(query).items]


def protecting(item: AnalysedPost, staff_id: str) -> AnalysedPost:
    exposure = Exposure(person=f"watchlist:{staff_id}", exposed=["street_address"], severity=Severity.high, score=0.9)
    return item.model_copy(update={"verdict": item.verdict.model_copy(update={"exposures": [exposure]})})


def collected(item: AnalysedPost, at: datetime) -> AnalysedPost:
    return item.model_copy(update={"post": item.post.model_copy(update={"collected_at": at})})


def test_posts_are_stored_once_and_keep_their_first_capture(store: Store) -> None:
    first = store.upsert([analysed(1, text="originalet"), analysed(2, flags=("threat",))], run_id="r1")
    assert sorted(first.new) == ["flashback:1", "flashback:2"] and first.updated == []
    second = store.upsert([analysed(2, text="redigerad", flags=("harassment",)), analysed(3)], run_id="r2")
    assert second.new == ["flashback:3"] and second.updated == ["flashback:2"]
    stored = store.get("flashback:2")
    assert stored is not None
    assert stored.post.text == "en vanlig text"  # first capture
    assert stored.verdict.flags == ["harassment"]  # newest analysis
    assert stored.first_seen_run == "r1"
    assert store.existing_ids(["flashback:1", "flashback:9"]) == {"flashback:1"}
    assert store.get("flashback:9") is None
    summary = store.summary()
    assert summary["posts"] == 3 and summary["duplicates"] == 0


def test_a_reanalysis_never_overwrites_the_review(store: Store) -> None:
    store.upsert([analysed(1, flags=("threat",))])
    store.review(
        "flashback:1",
        "kim",
        ReviewUpdate(status="confirmed", assignee="kim", corrected_labels=["threat", "doxxing"], note="Ring polisen"),
    )
    store.upsert([analysed(1, flags=("harassment",), score=0.6)])
    stored = store.get("flashback:1")
    assert stored is not None
    assert (stored.review_status, stored.assignee) == ("confirmed", "kim")
    assert stored.corrected_labels == ["doxxing", "threat"]  # in label order
    assert stored.labels == ["doxxing", "threat"]
    assert [note.text for note in stored.notes] == ["Ring polisen"]
    assert stored.reviewed_by == "kim" and stored.reviewed_at is not None
    assert stored.verdict.flags == ["harassment"]


def test_author_names_are_kept_only_for_flagged_posts(store: Store) -> None:
    store.upsert([analysed(1, author_name="Visible"), analysed(2, author_name="Kept", flags=("threat",))])
    assert store.get("flashback:1").post.author_name is None  # type: ignore[union-attr]
    assert store.get("flashback:2").post.author_name == "Kept"  # type: ignore[union-attr]


def test_swedish_full_text_search_folds_diacritics_and_treats_input_as_text(store: Store) -> None:
    store.upsert(
        [
            analysed(1, text="Socialtjänsten kidnappar barn", flags=("disinformation",), score=0.9),
            analysed(2, text="Hot mot socialsekreterare i Malmö", flags=("threat",), score=0.7),
            analysed(3, text="Socialtjänsten har långa väntetider"),
        ]
    )
    assert ids(store, SearchQuery(text="socialtjanst")) == ["flashback:1"]
    assert ids(store, SearchQuery(text="SOCIALTJÄNSTEN", flagged_only=False, sort="oldest")) == [
        "flashback:1",
        "flashback:3",
    ]
    assert ids(store, SearchQuery(text="malmo hot")) == ["flashback:2"]
    assert store.search(SearchQuery(text='kidnappar" OR "x')).total == 0
    assert store.search(SearchQuery(text="barn) AND (*")).total <= 1


def test_filters_combine(store: Store) -> None:
    store.upsert(
        [
            analysed(1, flags=("disinformation",), score=0.9, hours=1),
            analysed(2, flags=("threat",), score=0.7, source="mastodon", hours=30),
            analysed(3, flags=("threat", "harassment"), score=0.55, hours=50),
            protecting(analysed(4, flags=("doxxing",), score=0.95, hours=70), "staff-7"),
            analysed(5, hours=90),
        ]
    )
    assert store.search(SearchQuery()).total == 4  # flagged only by default
    assert store.search(SearchQuery(flagged_only=False)).total == 5
    assert sorted(ids(store, SearchQuery(labels=["threat"]))) == ["flashback:3", "mastodon:2"]
    assert ids(store, SearchQuery(labels=["threat"], min_score=0.6)) == ["mastodon:2"]
    assert ids(store, SearchQuery(labels=["threat"], max_score=0.6)) == ["flashback:3"]
    assert sorted(ids(store, SearchQuery(min_score=0.6, max_score=0.92))) == ["flashback:1", "mastodon:2"]
    assert ids(store, SearchQuery(sources=["mastodon"])) == ["mastodon:2"]
    since, until = BASE + timedelta(hours=20), BASE + timedelta(hours=70)
    assert sorted(ids(store, SearchQuery(since=since, until=until))) == ["flashback:3", "mastodon:2"]
    assert ids(store, SearchQuery(protected_staff=["staff-7"])) == ["flashback:4"]
    assert ids(store, SearchQuery(protected_staff=["staff-8"])) == []
    assert len(ids(store, SearchQuery(thread_id="flashback:t1"))) == 3
    store.review("flashback:3", "kim", ReviewUpdate(status="escalated", assignee="kim"))
    store.review("flashback:1", "ali", ReviewUpdate(status="dismissed"))
    assert ids(store, SearchQuery(review_status=["escalated"])) == ["flashback:3"]
    assert sorted(ids(store, SearchQuery(review_status=["new"]))) == ["flashback:4", "mastodon:2"]
    assert ids(store, SearchQuery(assignees=["kim"])) == ["flashback:3"]
    assert sorted(ids(store, SearchQuery(unassigned=True))) == ["flashback:1", "flashback:4", "mastodon:2"]
    assert sorted(ids(store, SearchQuery(assignees=["kim"], unassigned=True, labels=["threat"]))) == [
        "flashback:3",
        "mastodon:2",
    ]


def test_sorting_and_paging(store: Store) -> None:
    store.upsert(
        [
            analysed(1, flags=("threat",), score=0.6, hours=1),
            analysed(2, flags=("threat",), score=0.9, hours=2),
            analysed(3, flags=("threat",), score=0.7, hours=3),
        ]
    )
    assert ids(store, SearchQuery()) == ["flashback:2", "flashback:3", "flashback:1"]
    assert ids(store, SearchQuery(sort="newest")) == ["flashback:3", "flashback:2", "flashback:1"]
    assert ids(store, SearchQuery(sort="oldest")) == ["flashback:1", "flashback:2", "flashback:3"]
    page = store.search(SearchQuery(sort="oldest", limit=2, offset=1))
    assert page.total == 3 and [i.post.id for i in page.items] == ["flashback:2", "flashback:3"]


def test_counts_per_label_day_source_and_status(store: Store) -> None:
    store.upsert(
        [
            analysed(1, flags=("threat", "harassment"), hours=1),
            analysed(2, flags=("threat",), hours=2),
            analysed(3, flags=("disinformation",), source="mastodon", hours=30),
            analysed(4, hours=3),
        ]
    )
    store.review("flashback:2", "kim", ReviewUpdate(status="confirmed"))
    everything = SearchQuery()
    assert store.counts(everything, "label") == {"disinformation": 1, "harassment": 1, "threat": 2}
    assert store.counts(everything, "day") == {"2026-11-20": 2, "2026-11-21": 1}
    assert store.counts(everything, "source") == {"flashback": 2, "mastodon": 1}
    assert store.counts(everything, "review_status") == {"confirmed": 1, "new": 2}
    assert store.counts(SearchQuery(sources=["flashback"]), "label") == {"harassment": 1, "threat": 2}
    assert store.counts(SearchQuery(flagged_only=False), "source") == {"flashback": 3, "mastodon": 1}


def test_reviews_are_audited_without_the_notes_text(store: Store) -> None:
    store.upsert([analysed(1, flags=("doxxing",))])
    store.audit("kim", "view", "flashback:1")
    store.review("flashback:1", "kim", ReviewUpdate(status="escalated", note="Adressen är Storgatan 1"))
    store.review("flashback:1", "ali", ReviewUpdate(unassign=True))
    entries = store.audit_log(post_id="flashback:1")
    assert [(e.actor, e.action) for e in entries] == [("ali", "review"), ("kim", "review"), ("kim", "view")]
    assert json.loads(entries[1].detail) == {"status": "escalated", "note": "added"}
    assert all("Storgatan" not in e.detail for e in entries)
    assert [e.action for e in store.audit_log(actor="kim")] == ["review", "view"]
    assert store.get("flashback:1").assignee is None  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        store.review("flashback:404", "kim", ReviewUpdate(status="confirmed"))


def test_purge_applies_each_retention_period(store: Store) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=100), now - timedelta(days=5)
    store.upsert(
        [
            collected(analysed(1), old),  # unflagged, past 30 days
            collected(analysed(2), recent),  # unflagged, kept
            collected(analysed(3, flags=("threat",)), old),  # flagged, within 365 days
            collected(analysed(4, flags=("threat",)), now - timedelta(days=400)),  # flagged, past 365 days
            collected(analysed(5, flags=("harassment",)), old),  # dismissed below
        ]
    )
    store.review("flashback:5", "kim", ReviewUpdate(status="dismissed"))
    # dismissed just now: kept until 30 days after the dismissal
    report = store.purge(RetentionPolicy(unflagged_days=30, flagged_days=365, dismissed_days=30), now=now)
    assert (report.unflagged, report.flagged, report.dismissed) == (1, 1, 0)
    assert store.existing_ids([f"flashback:{n}" for n in range(1, 6)]) == {"flashback:2", "flashback:3", "flashback:5"}
    later = store.purge(RetentionPolicy(30, 365, 30), now=now + timedelta(days=31))
    assert (later.unflagged, later.flagged, later.dismissed) == (1, 0, 1)
    assert ids(store, SearchQuery(flagged_only=False)) == ["flashback:3"]
    assert any(e.action == "purge" for e in store.audit_log())


def test_alerts_are_claimed_once(store: Store) -> None:
    from alerts.rules import immediate_alerts
    from vaktpost.settings import AlertSettings

    [alert] = immediate_alerts([analysed(1, flags=("threat",))], AlertSettings())
    assert store.claim_alert(alert) is True
    assert store.claim_alert(alert) is False
    assert [a.id for a in store.pending_alerts()] == [alert.id]
    store.mark_alert(alert.id, DeliveryStatus.delivered)
    assert store.pending_alerts() == []
    assert store.summary()["alerts"] == {"total": 1, "delivered": 1}


def test_runs_meta_schema_and_reindex(store: Store) -> None:
    report = RunReport(
        run_id="r1", started_at=BASE, finished_at=BASE + timedelta(minutes=3), outcome="completed", sources=[]
    )
    store.record_run(report)
    assert [r.run_id for r in store.last_runs()] == ["r1"]
    assert store.summary()["last_run"]["run_id"] == "r1"
    assert store.get_meta("demo") is None
    store.set_meta("demo", "0")
    assert store.get_meta("demo") == "0"
    assert store.schema_version() >= 1
    store.upsert([analysed(1, text="Socialnämnden hotas", flags=("threat",))])
    assert store.reindex()
    assert ids(store, SearchQuery(text="socialnamnden")) == ["flashback:1"]
    store.review("flashback:1", "kim", ReviewUpdate(status="confirmed"))
    assert store.get("flashback:1").review_status == "confirmed"  # type: ignore[union-attr]
