"""Nothing lost: the spool keeps what the store could not take, and the next run delivers it exactly once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.corpus import Corpus
from demo.flashback_site import FlashbackSite
from demo.replay import ReplayServer
from index import SearchQuery, Spool, SpoolingWriter
from index.sqlite import SQLiteStore
from tests.factories import analysed


def test_segments_are_whole_and_delivered_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append([analysed(1), analysed(2, flags=("threat",))], "r1")
    spool.append([analysed(3)], "r2")
    (tmp_path / "spool" / ".half-written.tmp").write_text('{"run_id": "r3", "it', encoding="utf-8")  # a crash
    assert spool.pending() == 3
    store = SQLiteStore(tmp_path / "store.db")
    try:
        delivery = spool.deliver(store)
        assert (delivery.segments, delivery.posts, delivery.new, delivery.errors) == (2, 3, 3, [])
        assert store.get("flashback:2").first_seen_run == "r1"  # type: ignore[union-attr]
        assert store.get("flashback:3").first_seen_run == "r2"  # type: ignore[union-attr]
        assert spool.segments() == [] and spool.pending() == 0
        spool.append([analysed(1)], "r4")  # delivered twice (a crash before the segment was removed): no duplicate
        assert spool.deliver(store).new == 0
        assert store.summary()["posts"] == 3
    finally:
        store.close()


def test_an_unreadable_segment_is_kept_and_named(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    good = spool.append([analysed(1)], "r1")
    bad = spool.append([analysed(2)], "r1")
    assert good is not None and bad is not None
    bad.write_text(bad.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    store = SQLiteStore(tmp_path / "store.db")
    try:
        delivery = spool.deliver(store)
    finally:
        store.close()
    assert delivery.posts == 1 and len(delivery.errors) == 1
    assert f"{bad}:2" in delivery.errors[0]
    assert spool.segments() == [bad]  # kept for an operator to repair, never deleted


def test_the_writer_spools_from_the_first_failure_on(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path, busy_timeout_s=0.05)
    writer = SpoolingWriter(store, Spool(tmp_path / "spool"), "r1")
    assert writer.write([analysed(1)]) is True
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    assert writer.write([analysed(2)]) is False
    blocker.execute("ROLLBACK")
    blocker.close()
    assert writer.write([analysed(3)]) is False  # the store failed once this run: no more waiting on it
    assert writer.spooled == 2 and writer.failure is not None and str(path) in writer.failure
    store.close()
    unopened = SpoolingWriter(None, Spool(tmp_path / "spool"), "r1")
    assert unopened.write([analysed(4)]) is False and unopened.failure == "the store could not be opened"


@pytest.fixture
def forum(tmp_path: Path) -> Iterator[ReplayServer]:
    with ReplayServer({"forum": FlashbackSite(Corpus.load())}, default="forum") as server:
        yield server


def _lock_once_posts_arrive(database: Path, threshold: int, locked: threading.Event, release: threading.Event) -> None:
    """Another process's exclusive lock on the database once the run has stored ``threshold`` posts: the store
    fails for real half-way through the run (as under a backup tool or a stuck writer)."""
    while not database.exists():
        time.sleep(0.005)
    watcher = sqlite3.connect(database, timeout=10, isolation_level=None)
    try:
        while not release.is_set():
            try:
                count = watcher.execute("SELECT count(*) FROM posts").fetchone()[0]
            except sqlite3.OperationalError:  # the schema is not there yet
                count = 0
            if count >= threshold:
                watcher.execute("BEGIN EXCLUSIVE")
                locked.set()
                release.wait(600)
                watcher.execute("ROLLBACK")
                return
            time.sleep(0.002)
    finally:
        watcher.close()


@pytest.mark.e2e
def test_a_store_failing_half_way_loses_and_duplicates_nothing(
    forum: ReplayServer, tmp_path: Path, prefect_home: Path
) -> None:
    corpus = Corpus.load()
    forums = sorted({f.id for f, _, _ in corpus.forum_posts()})
    expected = {f"flashback:{p.id}" for _, _, p in corpus.forum_posts()}
    config = tmp_path / "vaktpost.toml"
    config.write_text(
        f"""
[crawl]
retries = 0
[analysis]
batch_size = 4
[store]
sqlite_busy_timeout_s = 0.2
[[sources]]
kind = "flashback"
base_url = "{forum.url}"
forums = {forums}
delay_s = 0
since_days = 60
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAKTPOST_", "PREFECT_"))}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    command = [sys.executable, "-m", "vaktpost.cli", "run", "--config", str(config)]
    database = tmp_path / "var" / "vaktpost.db"
    locked, release = threading.Event(), threading.Event()
    locker = threading.Thread(target=_lock_once_posts_arrive, args=(database, 12, locked, release), daemon=True)
    locker.start()
    try:
        first = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    finally:
        release.set()
        locker.join(30)
    assert locked.is_set(), "the run finished before the store could be made to fail"
    assert first.returncode == 3, first.stdout[-3000:] + first.stderr[-3000:]
    first_report = json.loads(next((tmp_path / "var" / "runs").glob("*/report.json")).read_text(encoding="utf-8"))
    assert first_report["spooled"] > 0
    assert any("spooled for the next run" in error for error in first_report["errors"])
    spool = Spool(tmp_path / "var" / "spool")
    assert spool.pending() >= first_report["spooled"]

    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert spool.segments() == []
    store = SQLiteStore(database)
    try:
        page = store.search(SearchQuery(flagged_only=False, limit=100_000))
        summary = store.summary()
    finally:
        store.close()
    stored = Counter(item.post.id for item in page.items)
    assert set(stored) == expected  # every post arrived
    assert max(stored.values()) == 1 and summary["duplicates"] == 0  # exactly once
    outbox = tmp_path / "var" / "alerts" / "outbox.jsonl"
    alerted = Counter(
        (alert["rule"], alert["post_id"])
        for alert in map(json.loads, outbox.read_text(encoding="utf-8").splitlines())
        if "post_id" in alert
    )
    assert alerted and max(alerted.values()) == 1  # posts stored before the failure were alerted on once, later
