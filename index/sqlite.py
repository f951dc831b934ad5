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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from index.store import (
    AuditEntry,
    Facet,
    NotFoundError,
    PurgeReport,
    RetentionPolicy,
    ReviewNote,
    ReviewUpdate,
    SearchPage,
    SearchQuery,
    StoredPost,
    StoreError,
    UpsertResult,
    run_brief,
)
from vaktpost.schema import LABELS, Alert, AnalysedPost, DeliveryStatus, Post, RunReport, Verdict

STORE_SCHEMA_VERSION = 3
SYSTEM_ACTOR = "vaktpost"

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
    corrected_labels TEXT,
    reviewed_by TEXT,
    reviewed_at TEXT
);
CREATE INDEX IF NOT EXISTS posts_by_severity ON posts (flagged, severity DESC, created_at DESC);
CREATE INDEX IF NOT EXISTS posts_by_created ON posts (created_at);
CREATE INDEX IF NOT EXISTS posts_by_source ON posts (source, created_at);
CREATE INDEX IF NOT EXISTS posts_by_thread ON posts (thread_id);
CREATE INDEX IF NOT EXISTS posts_by_collected ON posts (flagged, collected_at);
CREATE INDEX IF NOT EXISTS posts_by_review ON posts (flagged, review_status, assignee);
CREATE INDEX IF NOT EXISTS posts_by_flagged_created ON posts (flagged, created_at);
CREATE TABLE IF NOT EXISTS notes (
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_post ON notes (post_id, at);
CREATE TABLE IF NOT EXISTS post_staff (
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    staff_id TEXT NOT NULL,
    PRIMARY KEY (staff_id, post_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS post_staff_by_post ON post_staff (post_id);
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
CREATE INDEX IF NOT EXISTS audit_by_post ON audit (post_id, at);
CREATE TRIGGER IF NOT EXISTS audit_delete_only_by_retention BEFORE DELETE ON audit
WHEN old.at >= coalesce((SELECT value FROM meta WHERE key = 'audit_purge_before'), '') BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only; entries leave only by retention');
END;
"""


# From a store version to the next: the statements that bring an existing database up to date
# (new tables and indexes come from _SCHEMA, which is re-run after them).
_MIGRATIONS = {
    1: ["ALTER TABLE posts ADD COLUMN forwarded_from TEXT", "ALTER TABLE posts ADD COLUMN metrics TEXT"],
    2: [
        "ALTER TABLE posts ADD COLUMN reviewed_by TEXT",
        "ALTER TABLE posts ADD COLUMN reviewed_at TEXT",
        "DROP TRIGGER IF EXISTS audit_append_only_delete",
    ],
}


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SQLiteStore:
    backend = "sqlite"

    def __init__(self, path: Path, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=busy_timeout_s, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages stay in memory at millions of posts
            self._db.execute("PRAGMA temp_store=MEMORY")
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
        fresh = not self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'posts'").fetchone()
        if not fresh:
            for step_from in range(max(version, 1), STORE_SCHEMA_VERSION):
                for statement in _MIGRATIONS.get(step_from, []):
                    self._db.execute(statement)
        had_index = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'posts_fts'").fetchone()
        self._db.executescript(_SCHEMA)
        if not had_index:
            self._db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')")  # index rows that predate it
        if not fresh and version < 3:  # the protected staff of stored verdicts, for the new filter
            rows = self._db.execute("SELECT id, verdict FROM posts WHERE verdict LIKE '%watchlist:%'").fetchall()
            for row in rows:
                staff = Verdict.model_validate_json(row["verdict"]).protected_staff
                self._db.executemany(
                    "INSERT OR IGNORE INTO post_staff (post_id, staff_id) VALUES (?, ?)",
                    [(row["id"], s) for s in staff],
                )
        self._db.execute(f"PRAGMA user_version={STORE_SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; SQLite's own failures (locked, disk full, read-only) become StoreError."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise StoreError(f"cannot write to the SQLite store at {self.path}: {err}") from err
            try:
                yield self._db
            except sqlite3.Error as err:
                self._db.execute("ROLLBACK")
                raise StoreError(f"a write to the SQLite store at {self.path} failed: {err}") from err
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._db.execute("ROLLBACK")
                raise StoreError(f"cannot commit to the SQLite store at {self.path}: {err}") from err

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
                if post.id in existing:
                    db.execute("DELETE FROM flags WHERE post_id = ?", (post.id,))
                    db.execute("DELETE FROM post_staff WHERE post_id = ?", (post.id,))
                db.executemany(
                    "INSERT INTO flags (post_id, label, score) VALUES (?, ?, ?)",
                    [(post.id, label, verdict.scores[label]) for label in verdict.flags],
                )
                db.executemany(
                    "INSERT OR IGNORE INTO post_staff (post_id, staff_id) VALUES (?, ?)",
                    [(post.id, staff) for staff in verdict.protected_staff],
                )
                (updated if post.id in existing else new).append(post.id)
                existing.add(post.id)
        return UpsertResult(new=new, updated=updated)

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        with self._lock:
            try:
                return self._existing(self._db, ids)
            except sqlite3.Error as err:
                raise StoreError(f"cannot read the SQLite store at {self.path}: {err}") from err

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
            notes = self._notes([post_id]) if row else {}
        return _stored(row, notes.get(post_id, ())) if row else None

    def _notes(self, ids: Sequence[str]) -> dict[str, tuple[ReviewNote, ...]]:
        found: dict[str, list[ReviewNote]] = {}
        if ids:
            marks = ",".join("?" * len(ids))
            rows = self._db.execute(
                f"SELECT post_id, at, author, text FROM notes WHERE post_id IN ({marks}) ORDER BY at, rowid",  # noqa: S608
                list(ids),
            )
            for row in rows:
                found.setdefault(row[0], []).append(
                    ReviewNote(at=datetime.fromisoformat(row[1]), author=row[2], text=row[3])
                )
        return {post_id: tuple(notes) for post_id, notes in found.items()}

    def search(self, query: SearchQuery) -> SearchPage:
        clause, args = _where(query)
        order = {
            "severity": "posts.severity DESC, posts.created_at DESC",
            "newest": "posts.created_at DESC",
            "oldest": "posts.created_at ASC",
        }[query.sort]
        with self._lock:
            total = self._db.execute(f"SELECT count(*) FROM posts {clause}", args).fetchone()[0]  # noqa: S608
            rows = self._db.execute(
                f"SELECT * FROM posts {clause} ORDER BY {order}, posts.id LIMIT ? OFFSET ?",  # noqa: S608
                [*args, query.limit, query.offset],
            ).fetchall()
            notes = self._notes([row["id"] for row in rows])
        return SearchPage(total=total, items=[_stored(row, notes.get(row["id"], ())) for row in rows])

    def counts(self, query: SearchQuery, by: Facet) -> dict[str, int]:
        clause, args = _where(query)
        if by == "label":
            sql = f"SELECT label, count(*) FROM flags WHERE post_id IN (SELECT id FROM posts {clause}) GROUP BY label"  # noqa: S608
        else:
            key = {
                "day": "substr(posts.created_at, 1, 10)",
                "source": "posts.source",
                "review_status": "posts.review_status",
            }
            sql = f"SELECT {key[by]} AS k, count(*) FROM posts {clause} GROUP BY k"  # noqa: S608
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return dict(sorted((str(row[0]), int(row[1])) for row in rows))

    # -- review ------------------------------------------------------------------------------------

    def review(self, post_id: str, actor: str, update: ReviewUpdate) -> StoredPost:
        at = _now()
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM posts WHERE id = ?", (post_id,)).fetchone():
                raise NotFoundError(f"no post {post_id!r} in the store (it may have been purged)")
            changes: dict[str, Any] = {}
            sets: list[str] = []
            values: list[Any] = []
            if update.status is not None:
                sets.append("review_status = ?")
                values.append(update.status)
                changes["status"] = update.status
            if update.unassign or update.assignee is not None:
                sets.append("assignee = ?")
                values.append(None if update.unassign else update.assignee)
                changes["assignee"] = None if update.unassign else update.assignee
            if update.corrected_labels is not None:
                labels = [label for label in LABELS if label in set(update.corrected_labels)]
                sets.append("corrected_labels = ?")
                values.append(json.dumps(labels))
                changes["corrected_labels"] = labels
            if sets:
                sets += ["reviewed_by = ?", "reviewed_at = ?"]
                values += [actor, at]
                db.execute(f"UPDATE posts SET {', '.join(sets)} WHERE id = ?", [*values, post_id])  # noqa: S608
            if update.note:
                db.execute(
                    "INSERT INTO notes (post_id, at, author, text) VALUES (?, ?, ?, ?)",
                    (post_id, at, actor, update.note),
                )
                changes["note"] = "added"  # the note's text may name people: it stays with the post, not in the log
            if changes:
                db.execute(
                    "INSERT INTO audit (at, actor, action, post_id, detail) VALUES (?, ?, 'review', ?, ?)",
                    (at, actor, post_id, json.dumps(changes, ensure_ascii=False)),
                )
        stored = self.get(post_id)
        if stored is None:
            raise NotFoundError(f"post {post_id!r} disappeared during the review")
        return stored

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
            "schema_version": self.schema_version(),
            "posts": posts[0],
            "duplicates": posts[0] - posts[2],
            "by_source": by_source,
            "flagged_posts": flagged,
            "flags": flags,
            "alerts": {"total": sum(alerts.values()), **alerts},
            "runs": runs,
            "last_run": None if last_run is None else run_brief(last_run),
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

    def audit_log(
        self, post_id: str | None = None, actor: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[AuditEntry]:
        where, args = [], []
        for column, value in (("post_id", post_id), ("actor", actor)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT at, actor, action, post_id, detail FROM audit {clause} ORDER BY id DESC LIMIT ? OFFSET ?",  # noqa: S608
                [*args, limit, offset],
            ).fetchall()
        return [
            AuditEntry(at=datetime.fromisoformat(r[0]), actor=r[1], action=r[2], post_id=r[3], detail=r[4])
            for r in rows
        ]

    # -- retention and maintenance -----------------------------------------------------------------

    def purge(self, policy: RetentionPolicy, now: datetime | None = None) -> PurgeReport:
        """Delete posts past their retention (days since collection; dismissed: since the dismissal) and
        audit entries past theirs. Flags, notes and the full-text index go with their posts."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        cutoffs = {
            "unflagged": (now - timedelta(days=policy.unflagged_days)).isoformat(),
            "flagged": (now - timedelta(days=policy.flagged_days)).isoformat(),
            "dismissed": (now - timedelta(days=policy.dismissed_days)).isoformat(),
            "audit": (now - timedelta(days=policy.audit_days)).isoformat(),
        }
        rules = {
            "unflagged": "flagged = 0 AND collected_at < ?",
            "flagged": "flagged = 1 AND review_status != 'dismissed' AND collected_at < ?",
            "dismissed": "flagged = 1 AND review_status = 'dismissed' AND coalesce(reviewed_at, collected_at) < ?",
        }
        removed: dict[str, int] = {}
        with self._transaction() as db:
            for kind, condition in rules.items():
                removed[kind] = db.execute(f"DELETE FROM posts WHERE {condition}", (cutoffs[kind],)).rowcount  # noqa: S608
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_purge_before', ?)", (cutoffs["audit"],))
            audit_removed = db.execute("DELETE FROM audit WHERE at < ?", (cutoffs["audit"],)).rowcount
            db.execute("DELETE FROM meta WHERE key = 'audit_purge_before'")
            report = PurgeReport(**removed, audit_entries=audit_removed, cutoffs=cutoffs)
            db.execute("PRAGMA optimize")  # nightly: keeps the planner's statistics current as the store grows
            db.execute(
                "INSERT INTO audit (at, actor, action, post_id, detail) VALUES (?, ?, 'purge', NULL, ?)",
                (_now(), SYSTEM_ACTOR, json.dumps(removed | {"audit_entries": audit_removed})),
            )
        return report

    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def reindex(self) -> str:
        """Rebuild the full-text index from the posts table (SQLite migrates its schema in place on open)."""
        with self._transaction() as db:
            db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')")
            count = db.execute("SELECT count(*) FROM posts").fetchone()[0]
        with self._lock:
            self._db.execute("ANALYZE")
        return f"rebuilt the full-text index of {count} posts in {self.path}"

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


def _stored(row: sqlite3.Row, notes: tuple[ReviewNote, ...] = ()) -> StoredPost:
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
        notes=notes,
        reviewed_by=row["reviewed_by"],
        reviewed_at=datetime.fromisoformat(row["reviewed_at"]) if row["reviewed_at"] else None,
    )


def _where(query: SearchQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of a query (placeholders only; values in the list)."""
    where: list[str] = []
    args: list[Any] = []
    if query.text:
        where.append("posts.rowid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
        args.append(_fts_query(query.text))
    if query.flagged_only:
        where.append("posts.flagged = 1")
    bounds = [(">=", query.min_score), ("<=", query.max_score)]
    if query.labels:
        marks = ",".join("?" * len(query.labels))
        score = "".join(f" AND score {op} ?" for op, value in bounds if value is not None)
        where.append(f"posts.id IN (SELECT post_id FROM flags WHERE label IN ({marks}){score})")  # noqa: S608
        args.extend(query.labels)
        args.extend(value for _, value in bounds if value is not None)
    else:
        for op, value in bounds:
            if value is not None:
                where.append(f"posts.severity {op} ?")
                args.append(value)
    for column, values in (
        ("source", query.sources),
        ("review_status", query.review_status),
    ):
        if values:
            where.append(f"posts.{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    if query.assignees or query.unassigned:
        either = []
        if query.assignees:
            either.append(f"posts.assignee IN ({','.join('?' * len(query.assignees))})")
            args.extend(query.assignees)
        if query.unassigned:
            either.append("posts.assignee IS NULL")
        where.append(f"({' OR '.join(either)})")
    if query.protected_staff:
        marks = ",".join("?" * len(query.protected_staff))
        where.append(f"posts.id IN (SELECT post_id FROM post_staff WHERE staff_id IN ({marks}))")  # noqa: S608
        args.extend(query.protected_staff)
    if query.thread_id:
        where.append("posts.thread_id = ?")
        args.append(query.thread_id)
    if query.since:
        where.append("posts.created_at >= ?")
        args.append(query.since.astimezone(UTC).isoformat())
    if query.until:
        where.append("posts.created_at < ?")
        args.append(query.until.astimezone(UTC).isoformat())
    return (f"WHERE {' AND '.join(where)}" if where else ""), args


def _fts_query(text: str) -> str:
    """User words as FTS5 prefix terms, each quoted so that operators in the input are just text."""
    terms = [term.replace('"', '""') for term in text.split() if term.strip()]
    return " ".join(f'"{term}"*' for term in terms) or '""'
