"""The embedded store: one SQLite file in the data dir (WAL), full-text search with FTS5.

FTS5's unicode61 tokenizer with ``remove_diacritics 2`` folds å/ä/ö, so "socialtjanst" finds
"socialtjänst" — the way people type on phones.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.store import SearchPage, SearchQuery, StoredPost, StoreError, UpsertResult
from vaktpost.schema import LABELS, Alert, AnalysedPost, DeliveryStatus, Post, RunReport, Verdict

STORE_SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    author_id TEXT,
    author_name TEXT,
    title TEXT,
    text TEXT NOT NULL,
    quoted_text TEXT,
    lang TEXT,
    created_at TEXT NOT NULL,
    collected_at TEXT NOT NULL,
    thread_id TEXT,
    reply_to TEXT,
    forwarded_from TEXT,
    metrics TEXT,
    evidence TEXT,
    verdict TEXT NOT NULL,
    severity REAL NOT NULL,
    flagged INTEGER NOT NULL,
    analysed_at TEXT NOT NULL,
    first_seen_run TEXT,
    review_status TEXT NOT NULL DEFAULT 'new',
    assignee TEXT,
    corrected_labels TEXT
);
CREATE INDEX IF NOT EXISTS posts_by_severity ON posts (flagged, severity DESC, created_at DESC);
CREATE INDEX IF NOT EXISTS posts_by_created ON posts (created_at);
CREATE INDEX IF NOT EXISTS posts_by_source ON posts (source, created_at);
CREATE INDEX IF NOT EXISTS posts_by_thread ON posts (thread_id);
CREATE TABLE IF NOT EXISTS flags (
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (post_id, label)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS flags_by_label ON flags (label, score);
CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5 (
    title, text, quoted_text, content='posts', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, title, text, quoted_text) VALUES (new.rowid, new.title, new.text, new.quoted_text);
END;
CREATE TRIGGER IF NOT EXISTS posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, text, quoted_text)
    VALUES ('delete', old.rowid, old.title, old.text, old.quoted_text);
END;
CREATE TRIGGER IF NOT EXISTS posts_fts_update AFTER UPDATE OF title, text, quoted_text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, text, quoted_text)
    VALUES ('delete', old.rowid, old.title, old.text, old.quoted_text);
    INSERT INTO posts_fts (rowid, title, text, quoted_text) VALUES (new.rowid, new.title, new.text, new.quoted_text);
END;
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    report TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    post_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at TEXT NOT NULL,
    alert TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    post_id TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
"""


# From a store version to the next: the statements that bring an existing database up to date.
_MIGRATIONS = {
    1: ["ALTER TABLE posts ADD COLUMN forwarded_from TEXT", "ALTER TABLE posts ADD COLUMN metrics TEXT"],
}


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SQLiteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"cannot open the SQLite store at {path}: {err}") from err
        self._lock = threading.RLock()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > STORE_SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has store schema {version}, newer than this Vaktpost ({STORE_SCHEMA_VERSION}); upgrade"
            )
        if version == 1:
            for step in _MIGRATIONS[1]:
                self._db.execute(step)
        had_index = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'posts_fts'").fetchone()
        self._db.executescript(_SCHEMA)
        if not had_index:
            self._db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')")  # index rows that predate it
        self._db.execute(f"PRAGMA user_version={STORE_SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- posts -------------------------------------------------------------------------------------

    def upsert(self, items: Sequence[AnalysedPost], run_id: str | None = None) -> UpsertResult:
        new: list[str] = []
        updated: list[str] = []
        with self._transaction() as db:
            existing = self._existing(db, [item.post.id for item in items])
            for item in items:
                post, verdict = item.post, item.verdict
                flagged = bool(verdict.flags)
                db.execute(
                    """
                    INSERT INTO posts (id, source, url, author_id, author_name, title, text, quoted_text, lang,
                        created_at, collected_at, thread_id, reply_to, forwarded_from, metrics, evidence, verdict,
                        severity, flagged, analysed_at, first_seen_run)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET
                        verdict = excluded.verdict,
                        severity = excluded.severity,
                        flagged = excluded.flagged,
                        analysed_at = excluded.analysed_at,
                        author_name = CASE WHEN excluded.flagged
                            THEN coalesce(posts.author_name, excluded.author_name) ELSE NULL END
                    """,
                    (
                        post.id,
                        post.source,
                        post.url,
                        post.author_id,
                        post.author_name if flagged else None,
                        post.title,
                        post.text,
                        post.quoted_text,
                        post.lang,
                        post.created_at.isoformat(),
                        post.collected_at.isoformat(),
                        post.thread_id,
                        post.reply_to,
                        post.forwarded_from,
                        json.dumps(post.metrics) if post.metrics else None,
                        post.evidence.model_dump_json() if post.evidence else None,
                        verdict.model_dump_json(),
                        verdict.severity,
                        int(flagged),
                        verdict.analysed_at.isoformat(),
                        run_id,
                    ),
                )
                db.execute("DELETE FROM flags WHERE post_id = ?", (post.id,))
                db.executemany(
                    "INSERT INTO flags (post_id, label, score) VALUES (?, ?, ?)",
                    [(post.id, label, verdict.scores[label]) for label in verdict.flags],
                )
                (updated if post.id in existing else new).append(post.id)
                existing.add(post.id)
        return UpsertResult(new=new, updated=updated)

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        with self._lock:
            return self._existing(self._db, ids)

    @staticmethod
    def _existing(db: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(row[0] for row in db.execute(f"SELECT id FROM posts WHERE id IN ({marks})", chunk))  # noqa: S608
        return found

    def get(self, post_id: str) -> StoredPost | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM posts WHERE id = ?", (post_id,)).fetchone()
        return _stored(row) if row else None

    def search(self, query: SearchQuery) -> SearchPage:
        where: list[str] = []
        args: list[Any] = []
        if query.text:
            where.append("posts.rowid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
            args.append(_fts_query(query.text))
        if query.flagged_only:
            where.append("posts.flagged = 1")
        if query.labels:
            marks = ",".join("?" * len(query.labels))
            score = " AND score >= ?" if query.min_score is not None else ""
            where.append(f"posts.id IN (SELECT post_id FROM flags WHERE label IN ({marks}){score})")  # noqa: S608 - placeholders only
            args.extend(query.labels)
            if query.min_score is not None:
                args.append(query.min_score)
        elif query.min_score is not None:
            where.append("posts.severity >= ?")
            args.append(query.min_score)
        for column, values in (("source", query.sources), ("review_status", query.review_status)):
            if values:
                where.append(f"posts.{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if query.since:
            where.append("posts.created_at >= ?")
            args.append(query.since.astimezone(UTC).isoformat())
        if query.until:
            where.append("posts.created_at < ?")
            args.append(query.until.astimezone(UTC).isoformat())
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        order = {
            "severity": "posts.severity DESC, posts.created_at DESC",
            "newest": "posts.created_at DESC",
            "oldest": "posts.created_at ASC",
        }[query.sort]
        with self._lock:
            total = self._db.execute(f"SELECT count(*) FROM posts {clause}", args).fetchone()[0]  # noqa: S608
            rows = self._db.execute(
                f"SELECT * FROM posts {clause} ORDER BY {order} LIMIT ? OFFSET ?",  # noqa: S608
                [*args, query.limit, query.offset],
            ).fetchall()
        return SearchPage(total=total, items=[_stored(row) for row in rows])

    def summary(self, recent: int = 10) -> dict[str, Any]:
        """What the store holds, for ``vaktpost status`` and health checks."""
        with self._lock:
            db = self._db
            posts = db.execute(
                "SELECT count(*), count(DISTINCT id), count(DISTINCT source || ' ' || url) FROM posts"
            ).fetchone()
            by_source = dict(
                db.execute("SELECT source, count(*) FROM posts GROUP BY source ORDER BY source").fetchall()
            )
            flags = dict.fromkeys(LABELS, 0)
            flags.update(db.execute("SELECT label, count(*) FROM flags GROUP BY label").fetchall())
            flagged = db.execute("SELECT count(*) FROM posts WHERE flagged = 1").fetchone()[0]
            alerts = dict(db.execute("SELECT status, count(*) FROM alerts GROUP BY status").fetchall())
            last = db.execute("SELECT report FROM runs ORDER BY finished_at DESC LIMIT 1").fetchone()
            runs = db.execute("SELECT count(*) FROM runs").fetchone()[0]
            recent_rows = db.execute(
                "SELECT id FROM posts WHERE flagged = 1 ORDER BY created_at DESC, severity DESC LIMIT ?",
                (recent,),
            ).fetchall()
        last_run = RunReport.model_validate_json(last[0]) if last else None
        return {
            "store": f"sqlite:{self.path}",
            "posts": posts[0],
            "duplicates": posts[0] - posts[2],
            "by_source": by_source,
            "flagged_posts": flagged,
            "flags": flags,
            "alerts": {"total": sum(alerts.values()), **alerts},
            "runs": runs,
            "last_run": None
            if last_run is None
            else {
                "run_id": last_run.run_id,
                "finished_at": last_run.finished_at.isoformat(),
                "outcome": last_run.outcome,
                "new_posts": last_run.new,
                "demo": last_run.demo,
            },
            "recent_flagged": [row[0] for row in recent_rows],
        }

    # -- runs --------------------------------------------------------------------------------------

    def record_run(self, report: RunReport) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO runs (run_id, started_at, finished_at, outcome, report) VALUES (?, ?, ?, ?, ?)",
                (
                    report.run_id,
                    report.started_at.isoformat(),
                    report.finished_at.isoformat(),
                    report.outcome,
                    report.model_dump_json(),
                ),
            )

    def last_runs(self, limit: int = 10) -> list[RunReport]:
        with self._lock:
            rows = self._db.execute("SELECT report FROM runs ORDER BY finished_at DESC LIMIT ?", (limit,)).fetchall()
        return [RunReport.model_validate_json(row[0]) for row in rows]

    # -- alerts ------------------------------------------------------------------------------------

    def claim_alert(self, alert: Alert) -> bool:
        """Record an alert as pending; False when this rule already alerted on this post."""
        with self._transaction() as db:
            cursor = db.execute(
                """INSERT OR IGNORE INTO alerts (id, rule, post_id, severity, created_at, status, updated_at, alert)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    alert.id,
                    alert.rule,
                    alert.post_id,
                    alert.severity,
                    alert.created_at.isoformat(),
                    DeliveryStatus.pending,
                    _now(),
                    alert.model_dump_json(),
                ),
            )
            return cursor.rowcount == 1

    def mark_alert(self, alert_id: str, status: DeliveryStatus, error: str | None = None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE alerts SET status = ?, attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
                (status, error, _now(), alert_id),
            )

    def pending_alerts(self) -> list[Alert]:
        """Alerts claimed but not delivered (a crash, a receiver that was down): retried next run."""
        with self._lock:
            rows = self._db.execute(
                "SELECT alert FROM alerts WHERE status IN (?, ?) ORDER BY created_at",
                (DeliveryStatus.pending, DeliveryStatus.failed),
            ).fetchall()
        return [Alert.model_validate_json(row[0]) for row in rows]

    # -- audit and meta ----------------------------------------------------------------------------

    def audit(self, actor: str, action: str, post_id: str | None = None, detail: str = "") -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO audit (at, actor, action, post_id, detail) VALUES (?, ?, ?, ?, ?)",
                (_now(), actor, action, post_id, detail),
            )

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _stored(row: sqlite3.Row) -> StoredPost:
    post = Post(
        id=row["id"],
        source=row["source"],
        url=row["url"],
        author_id=row["author_id"],
        author_name=row["author_name"],
        title=row["title"],
        text=row["text"],
        quoted_text=row["quoted_text"],
        lang=row["lang"],
        created_at=row["created_at"],
        collected_at=row["collected_at"],
        thread_id=row["thread_id"],
        reply_to=row["reply_to"],
        forwarded_from=row["forwarded_from"],
        metrics=json.loads(row["metrics"]) if row["metrics"] else {},
        evidence=json.loads(row["evidence"]) if row["evidence"] else None,
    )
    return StoredPost(
        post=post,
        verdict=Verdict.model_validate_json(row["verdict"]),
        review_status=row["review_status"],
        assignee=row["assignee"],
        corrected_labels=json.loads(row["corrected_labels"]) if row["corrected_labels"] else None,
        first_seen_run=row["first_seen_run"],
    )


def _fts_query(text: str) -> str:
    """User words as FTS5 prefix terms, each quoted so that operators in the input are just text."""
    terms = [term.replace('"', '""') for term in text.split() if term.strip()]
    return " ".join(f'"{term}"*' for term in terms) or '""'
