"""The embedded SQLite store: exactly-once posts, search, summaries, alert ledger, audit log."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import SearchQuery, StoreError
from index.sqlite import SQLiteStore
from tests.factories import analysed
from vaktpost.schema import DeliveryStatus


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "store.db")
    yield opened
    opened.close()


def test_upsert_reports_new_and_never_duplicates(store: SQLiteStore) -> None:
    first = store.upsert([analysed(1), analysed(2, flags=("threat",))], run_id="r1")
    assert first.new == ["flashback:1", "flashback:2"]
    second = store.upsert([analysed(2, flags=("threat",)), analysed(3)], run_id="r2")
    assert second.new == ["flashback:3"] and second.updated == ["flashback:2"]
    summary = store.summary()
    assert summary["posts"] == 3 and summary["duplicates"] == 0
    assert store.get("flashback:2").first_seen_run == "r1"  # type: ignore[union-attr]


def test_reanalysis_updates_the_verdict_but_keeps_first_capture_and_review(store: SQLiteStore, tmp_path: Path) -> None:
    store.upsert([analysed(1, text="originalet", flags=("threat",))])
    raw = sqlite3.connect(tmp_path / "store.db")
    raw.execute("UPDATE posts SET review_status = 'confirmed', assignee = 'kim' WHERE id = 'flashback:1'")
    raw.commit()
    raw.close()
    store.upsert([analysed(1, text="redigerad senare", flags=("harassment",))])
    stored = store.get("flashback:1")
    assert stored is not None
    assert stored.post.text == "originalet"
    assert stored.verdict.flags == ["harassment"]
    assert (stored.review_status, stored.assignee) == ("confirmed", "kim")


def test_author_names_of_unflagged_posts_are_not_stored(store: SQLiteStore) -> None:
    store.upsert([analysed(1, author_name="Visible"), analysed(2, author_name="Kept", flags=("threat",))])
    assert store.get("flashback:1").post.author_name is None  # type: ignore[union-attr]
    assert store.get("flashback:2").post.author_name == "Kept"  # type: ignore[union-attr]


def test_full_text_search_folds_diacritics_and_filters(store: SQLiteStore) -> None:
    store.upsert(
        [
            analysed(1, text="Socialtjänsten kidnappar barn", flags=("disinformation",), score=0.9),
            analysed(2, text="Hot mot socialsekreterare", flags=("threat",), score=0.7, source="mastodon"),
            analysed(3, text="Socialtjänsten har långa väntetider"),
        ]
    )
    page = store.search(SearchQuery(text="socialtjanst"))
    assert [item.post.id for item in page.items] == ["flashback:1"]
    everything = store.search(SearchQuery(text="socialtjanst", flagged_only=False, sort="oldest"))
    assert [item.post.id for item in everything.items] == ["flashback:1", "flashback:3"]
    assert [i.post.id for i in store.search(SearchQuery()).items] == [
        "flashback:1",
        "mastodon:2",
    ]  # by severity
    assert store.search(SearchQuery(labels=["threat"])).total == 1
    assert store.search(SearchQuery(sources=["mastodon"])).total == 1
    assert store.search(SearchQuery(min_score=0.8)).total == 1
    assert store.search(SearchQuery(text='kidnappar" OR "x')).total == 0  # operators in input are just text


def test_summary_counts(store: SQLiteStore) -> None:
    store.upsert(
        [
            analysed(1, flags=("threat", "harassment")),
            analysed(2, flags=("threat",)),
            analysed(3, source="mastodon"),
        ]
    )
    summary = store.summary()
    assert summary["by_source"] == {"flashback": 2, "mastodon": 1}
    assert summary["flags"] == {"disinformation": 0, "doxxing": 0, "threat": 2, "harassment": 1}
    assert summary["flagged_posts"] == 2
    assert summary["recent_flagged"] == ["flashback:2", "flashback:1"]
    assert summary["last_run"] is None


def test_alert_ledger_claims_once(store: SQLiteStore) -> None:
    from alerts.rules import immediate_alerts
    from vaktpost.settings import AlertSettings

    [alert] = immediate_alerts([analysed(1, flags=("threat",))], AlertSettings())
    assert store.claim_alert(alert) is True
    assert store.claim_alert(alert) is False
    assert [a.id for a in store.pending_alerts()] == [alert.id]
    store.mark_alert(alert.id, DeliveryStatus.delivered)
    assert store.pending_alerts() == []
    assert store.summary()["alerts"] == {"total": 1, "delivered": 1}


def test_audit_log_is_append_only(store: SQLiteStore, tmp_path: Path) -> None:
    store.audit("kim", "view", "flashback:1")
    raw = sqlite3.connect(tmp_path / "store.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM audit")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE audit SET actor = 'someone else'")
    raw.close()


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(StoreError, match="newer than this Vaktpost"):
        SQLiteStore(path)


def test_an_unopenable_store_says_where(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match=str(blocker)):
        SQLiteStore(blocker / "store.db")


def test_a_version_1_store_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE posts (id TEXT PRIMARY KEY, source TEXT NOT NULL, url TEXT NOT NULL, author_id TEXT, "
        "author_name TEXT, title TEXT, text TEXT NOT NULL, quoted_text TEXT, lang TEXT, created_at TEXT NOT NULL, "
        "collected_at TEXT NOT NULL, thread_id TEXT, reply_to TEXT, evidence TEXT, verdict TEXT NOT NULL, "
        "severity REAL NOT NULL, flagged INTEGER NOT NULL, analysed_at TEXT NOT NULL, first_seen_run TEXT, "
        "review_status TEXT NOT NULL DEFAULT 'new', assignee TEXT, corrected_labels TEXT)"
    )
    item = analysed(1, flags=("threat",))
    old.execute(
        "INSERT INTO posts (id, source, url, text, created_at, collected_at, verdict, severity, flagged, analysed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            item.post.id,
            "flashback",
            item.post.url,
            item.post.text,
            item.post.created_at.isoformat(),
            item.post.collected_at.isoformat(),
            item.verdict.model_dump_json(),
            0.8,
            1,
            item.verdict.analysed_at.isoformat(),
        ),
    )
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    store = SQLiteStore(path)
    try:
        assert store.get("flashback:1").post.metrics == {}  # type: ignore[union-attr]
        newer = analysed(2)
        newer = newer.model_copy(
            update={"post": newer.post.model_copy(update={"metrics": {"views": 12}, "forwarded_from": "kanal"})}
        )
        store.upsert([newer])
        again = store.get("flashback:2")
        assert again is not None and again.post.metrics == {"views": 12} and again.post.forwarded_from == "kanal"
        # rows from before the full-text index existed are indexed too
        assert store.search(SearchQuery(text="vanlig", flagged_only=False)).total == 2
    finally:
        store.close()
