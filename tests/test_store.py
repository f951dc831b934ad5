"""What only the SQLite backend does: migrations, its audit-log triggers, locking. The behaviour both
backends share is in test_store_contract.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import SearchQuery, StoreError
from index.sqlite import SQLiteStore
from tests.factories import analysed


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "store.db")
    yield opened
    opened.close()


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


def test_the_audit_log_gives_up_entries_only_to_retention(store: SQLiteStore, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from index import RetentionPolicy

    store.audit("kim", "view", "flashback:1")
    report = store.purge(RetentionPolicy(30, 365, 30, audit_days=30), now=datetime.now(UTC) + timedelta(days=31))
    assert report.audit_entries == 1
    assert [e.action for e in store.audit_log()] == ["purge"]
    raw = sqlite3.connect(tmp_path / "store.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM audit")
    raw.close()


def test_a_version_2_store_gains_review_columns_and_its_protected_staff(tmp_path: Path) -> None:
    from vaktpost.schema import Exposure, Severity

    path = tmp_path / "v2.db"
    item = analysed(1, flags=("doxxing",))
    exposure = Exposure(person="watchlist:s1", exposed=["street_address"], severity=Severity.high, score=0.9)
    item = item.model_copy(update={"verdict": item.verdict.model_copy(update={"exposures": [exposure]})})
    store = SQLiteStore(path)
    store.upsert([item])
    store.close()
    raw = sqlite3.connect(path)  # roll the file back to what a version-2 Vaktpost wrote
    raw.executescript(
        "DROP TABLE notes; DROP TABLE post_staff; DROP TRIGGER audit_delete_only_by_retention;"
        "ALTER TABLE posts DROP COLUMN reviewed_by; ALTER TABLE posts DROP COLUMN reviewed_at;"
        "CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'no'); END;"
        "PRAGMA user_version = 2;"
    )
    raw.close()
    store = SQLiteStore(path)
    try:
        assert store.schema_version() == 3
        assert [i.post.id for i in store.search(SearchQuery(protected_staff=["s1"])).items] == ["flashback:1"]
        from index import ReviewUpdate

        assert store.review("flashback:1", "kim", ReviewUpdate(note="ok")).notes[0].author == "kim"
    finally:
        store.close()


def test_a_locked_database_is_a_store_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path, busy_timeout_s=0.1)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match=str(path)):
            store.upsert([analysed(1)])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.upsert([analysed(1)]).new == ["flashback:1"]
    store.close()
