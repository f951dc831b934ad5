"""Operating the nightly flow: time limits, overlapping runs, the Dask runner, a killed run, JSON logs and the
operators' alert. Real `vaktpost run` processes over replay servers."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.corpus import Corpus
from demo.flashback_site import FlashbackSite, Page
from demo.replay import ReplayServer
from index import SearchQuery, Spool
from index.sqlite import SQLiteStore

pytestmark = pytest.mark.e2e


class Stuck:
    """A site that answers nothing in time: every request sleeps ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def handle(self, path: str, query: str, host: str) -> Page:
        time.sleep(self.seconds)
        return Page(200, b"<html></html>", "text/html; charset=utf-8")


class Slow:
    """The forum, each page a little late: a run that takes a while."""

    def __init__(self, site: FlashbackSite, seconds: float) -> None:
        self.site, self.seconds = site, seconds

    def handle(self, path: str, query: str, host: str) -> Page:
        time.sleep(self.seconds)
        return self.site.handle(path, query, host)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.load()


@pytest.fixture
def forum(corpus: Corpus) -> Iterator[ReplayServer]:
    with ReplayServer({"forum": FlashbackSite(corpus)}, default="forum") as server:
        yield server


def _env(prefect_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAKTPOST_", "PREFECT_"))}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return env


def _source(url: str, forums: list[int], name: str = "flashback") -> str:
    return f"""
[[sources]]
kind = "flashback"
name = "{name}"
base_url = "{url}"
forums = {forums}
delay_s = 0
since_days = 60
"""


def _config(path: Path, head: str, *sources: str) -> Path:
    path.write_text(head + "".join(sources), encoding="utf-8")
    return path


def _command(config: Path) -> list[str]:
    return [sys.executable, "-m", "vaktpost.cli", "run", "--config", str(config)]


def _run(config: Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command(config), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _stored(database: Path) -> Counter[str]:
    store = SQLiteStore(database)
    try:
        page = store.search(SearchQuery(flagged_only=False, limit=100_000))
    finally:
        store.close()
    return Counter(item.post.id for item in page.items)


def _flags(database: Path) -> dict[str, list[str]]:
    store = SQLiteStore(database)
    try:
        page = store.search(SearchQuery(flagged_only=False, limit=100_000))
    finally:
        store.close()
    return {item.post.id: sorted(item.verdict.flags) for item in page.items}


def _report(data: Path) -> dict[str, object]:
    reports = sorted((data / "runs").glob("*/report.json"))
    assert reports, "no run report"
    result: dict[str, object] = json.loads(reports[-1].read_text(encoding="utf-8"))
    return result


def _forums(corpus: Corpus) -> list[int]:
    return sorted({f.id for f, _, _ in corpus.forum_posts()})


def test_a_hanging_source_times_out_the_others_are_stored_logs_and_operators_told_once(
    forum: ReplayServer, corpus: Corpus, tmp_path: Path, prefect_home: Path
) -> None:
    forums = _forums(corpus)
    expected = {f"flashback:{p.id}" for _, _, p in corpus.forum_posts()}
    with ReplayServer({"stuck": Stuck(30)}, default="stuck") as stuck:
        config = _config(
            tmp_path / "vaktpost.toml",
            "[crawl]\nretries = 0\nrun_timeout_s = 10\n[run]\nsource_retries = 0\njson_logs = true\n",
            _source(forum.url, forums),
            _source(stuck.url, forums[:1], name="stuck"),
        )
        result = _run(config, tmp_path, _env(prefect_home))
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]
    data = tmp_path / "var"
    report = _report(data)
    assert report["outcome"] == "partial"
    by_name = {s["name"]: s for s in report["sources"]}  # type: ignore[attr-defined]
    assert by_name["stuck"]["ok"] is False and "run_timeout_s" in by_name["stuck"]["error"]
    assert by_name["flashback"]["ok"] is True
    assert set(_stored(data / "vaktpost.db")) == expected
    run_dir = next((data / "runs").glob("*/report.json")).parent
    markdown = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "PARTLY FAILED" in markdown and "run_timeout_s" in markdown

    lines = (run_dir / "log.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any("stuck" in r["message"] for r in records)
    logged = "\n".join(lines)
    assert not any(post.text[:40] in logged for _, _, post in corpus.forum_posts() if len(post.text) >= 40)

    outbox = [json.loads(line) for line in (data / "alerts" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()]
    run_alerts = [a for a in outbox if a["rule"] == "run"]
    assert len(run_alerts) == 1
    assert run_alerts[0]["facts"]["outcome"] == "partial" and "stuck" in run_alerts[0]["facts"]["problems"]


def test_a_second_run_while_one_runs_exits_and_does_no_work(corpus: Corpus, tmp_path: Path, prefect_home: Path) -> None:
    forums = _forums(corpus)
    expected = {f"flashback:{p.id}" for _, _, p in corpus.forum_posts()}
    env = _env(prefect_home)
    with ReplayServer({"forum": Slow(FlashbackSite(corpus), 0.3)}, default="forum") as slow:
        config = _config(tmp_path / "vaktpost.toml", "[crawl]\nretries = 0\n", _source(slow.url, forums))
        lock = tmp_path / "var" / "run.lock"
        first = subprocess.Popen(
            _command(config), cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 120
            while not (lock.exists() and lock.read_text(encoding="utf-8").strip()):
                assert time.monotonic() < deadline and first.poll() is None, "the first run never took the lock"
                time.sleep(0.1)
            holder = json.loads(lock.read_text(encoding="utf-8"))
            second = _run(config, tmp_path, env)
            assert first.poll() is None, "the first run ended before the second one started"
        finally:
            out, err = first.communicate(timeout=300)
    assert second.returncode == 4, second.stdout[-2000:] + second.stderr[-2000:]
    assert "run.lock" in second.stderr and str(holder["pid"]) in second.stderr
    assert str(holder["run_id"]) in second.stderr
    assert first.returncode == 0, out[-2000:] + err[-2000:]
    stored = _stored(tmp_path / "var" / "vaktpost.db")
    assert set(stored) == expected and max(stored.values()) == 1
    assert len(list((tmp_path / "var" / "runs").glob("*/report.json"))) == 1


def test_the_dask_runner_stores_what_the_thread_runner_stores(
    forum: ReplayServer, corpus: Corpus, tmp_path: Path, prefect_home: Path
) -> None:
    forums = _forums(corpus)
    env = _env(prefect_home)
    contents = []
    for runner in ("threads", "dask"):
        cwd = tmp_path / runner
        cwd.mkdir()
        head = f'[crawl]\nretries = 0\n[analysis]\nbatch_size = 16\n[run]\ntask_runner = "{runner}"\ndask_workers = 2\n'
        result = _run(_config(cwd / "vaktpost.toml", head, _source(forum.url, forums)), cwd, env)
        assert result.returncode == 0, runner + result.stdout[-3000:] + result.stderr[-3000:]
        contents.append(_flags(cwd / "var" / "vaktpost.db"))
    threads, dask = contents
    assert threads and dask == threads
    assert any(flags for flags in threads.values())


def test_a_run_killed_half_way_loses_and_duplicates_nothing(
    forum: ReplayServer, corpus: Corpus, tmp_path: Path, prefect_home: Path
) -> None:
    forums = _forums(corpus)
    expected = {f"flashback:{p.id}" for _, _, p in corpus.forum_posts()}
    env = _env(prefect_home)
    config = _config(
        tmp_path / "vaktpost.toml", "[crawl]\nretries = 0\n[analysis]\nbatch_size = 2\n", _source(forum.url, forums)
    )
    database = tmp_path / "var" / "vaktpost.db"
    process = subprocess.Popen(
        _command(config), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 240
        count = 0
        while count < 20:
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no posts were stored in time"
            time.sleep(0.02)
            if database.exists():
                try:
                    with sqlite3.connect(database, timeout=1) as connection:
                        count = connection.execute("SELECT count(*) FROM posts").fetchone()[0]
                except sqlite3.OperationalError:
                    count = 0
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(60)
    assert 0 < len(_stored(database)) < len(expected), "the kill did not land half-way"

    with (tmp_path / "var" / "run.lock").open("a+") as handle:  # the kernel released the killed run's lock
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    again = _run(config, tmp_path, env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    stored = _stored(database)
    assert set(stored) == expected and max(stored.values()) == 1
    assert Spool(tmp_path / "var" / "spool").segments() == []
