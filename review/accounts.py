"""Accounts, sessions and login throttling of the review app, in their own SQLite file in the data dir.

Kept apart from the store on purpose: the store may be a shared Elasticsearch cluster, while accounts belong
to one installation. Passwords are argon2id hashes (argon2-cffi); session and CSRF tokens are random, and
only a SHA-256 of the session token is stored, so a copy of the database does not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

Role = Literal["reviewer", "safety", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,39}$"
MIN_PASSWORD = 12

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    last_visit TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS failed_logins (key TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS failed_logins_by_key ON failed_logins (key, at);
"""


class AccountError(ValueError):
    """A request about accounts that cannot be honoured; the message is safe to show."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    created_at: datetime
    disabled: bool = False
    last_visit: datetime | None = None

    def can(self, *roles: Role) -> bool:
        """Admins may do everything; others what their role is listed for."""
        return self.role == "admin" or self.role in roles


@dataclass(frozen=True)
class Session:
    """A signed-in user. ``state`` holds the queue's filters and search text server-side, so that what a
    reviewer searches for (often a colleague's name) never appears in a URL, a log or the browser history."""

    user: User
    csrf: str
    token: str = ""
    state: dict[str, Any] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, path: Path, *, idle: timedelta = timedelta(minutes=30)) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.idle = idle
        self._hasher = PasswordHasher()
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        path.chmod(0o600)

    # -- users -------------------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str) -> User:
        import re

        if not re.match(NAME_PATTERN, name):
            raise AccountError(f"the account name {name!r} must be 2-40 lowercase letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                    (name, role, self._hasher.hash(password), _now().isoformat()),
                )
            except sqlite3.IntegrityError:
                raise AccountError(f"an account named {name!r} already exists") from None
        user = self.get_user(name)
        assert user is not None
        return user

    def get_user(self, name: str) -> User | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def users(self) -> list[User]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [_user(row) for row in rows]

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        self._update_user(name, "role = ?", role)

    def set_disabled(self, name: str, disabled: bool) -> None:
        self._update_user(name, "disabled = ?", int(disabled))
        if disabled:
            with self._lock:
                self._db.execute("DELETE FROM sessions WHERE user = ?", (name,))

    def set_password(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
        self._update_user(name, "password_hash = ?", self._hasher.hash(password))
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE user = ?", (name,))

    def mark_visit(self, name: str, at: datetime | None = None) -> None:
        self._update_user(name, "last_visit = ?", (at or _now()).isoformat())

    def _update_user(self, name: str, assignment: str, value: object) -> None:
        with self._lock:
            cursor = self._db.execute(f"UPDATE users SET {assignment} WHERE name = ?", (value, name))  # noqa: S608
        if cursor.rowcount != 1:
            raise AccountError(f"no account named {name!r}")

    # -- login -------------------------------------------------------------------------------------

    def throttled(self, keys: list[str], attempts: int, window: timedelta) -> bool:
        """True when any key (account name, client address) had ``attempts`` failures within ``window``."""
        since = (_now() - window).isoformat()
        with self._lock:
            self._db.execute("DELETE FROM failed_logins WHERE at < ?", (since,))
            count = "SELECT count(*) FROM failed_logins WHERE key = ? AND at >= ?"
            counts = [self._db.execute(count, (key, since)).fetchone()[0] for key in keys]
        return any(count >= attempts for count in counts)

    def authenticate(self, name: str, password: str, keys: list[str]) -> User | None:
        """The user when the password is right and the account active; records a failure otherwise."""
        with self._lock:
            row = self._db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        ok = False
        if row is not None:
            try:
                ok = self._hasher.verify(row["password_hash"], password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
            if ok and self._hasher.check_needs_rehash(row["password_hash"]):
                self._update_user(name, "password_hash = ?", self._hasher.hash(password))
        else:
            self._hasher.hash(password)  # the same work either way: timing does not reveal account names
        if ok and row is not None and not row["disabled"]:
            return _user(row)
        with self._lock:
            self._db.executemany(
                "INSERT INTO failed_logins (key, at) VALUES (?, ?)", [(key, _now().isoformat()) for key in keys]
            )
        return None

    # -- sessions ----------------------------------------------------------------------------------

    def open_session(self, user: User) -> Session:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now().isoformat()
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions (token_hash, user, csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
                (_digest(token), user.name, csrf, now, now),
            )
        return Session(user=user, csrf=csrf, token=token)

    def session(self, token: str | None) -> Session | None:
        """The live session for a cookie value, refreshed; None when unknown, idle too long or disabled."""
        if not token:
            return None
        now = _now()
        with self._lock:
            row = self._db.execute(
                "SELECT sessions.csrf, sessions.last_seen, sessions.state, users.* "
                "FROM sessions JOIN users ON users.name = sessions.user WHERE token_hash = ?",
                (_digest(token),),
            ).fetchone()
            if row is None:
                return None
            if row["disabled"] or now - datetime.fromisoformat(row["last_seen"]) > self.idle:
                self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))
                return None
            self._db.execute(
                "UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (now.isoformat(), _digest(token))
            )
        return Session(user=_user(row), csrf=row["csrf"], token=token, state=json.loads(row["state"]))

    def save_state(self, token: str, state: dict[str, Any]) -> None:
        with self._lock:
            encoded = json.dumps(state, ensure_ascii=False)
            self._db.execute("UPDATE sessions SET state = ? WHERE token_hash = ?", (encoded, _digest(token)))

    def close_session(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _user(row: sqlite3.Row) -> User:
    return User(
        name=row["name"],
        role=row["role"],
        created_at=datetime.fromisoformat(row["created_at"]),
        disabled=bool(row["disabled"]),
        last_visit=datetime.fromisoformat(row["last_visit"]) if row["last_visit"] else None,
    )


def check_csrf(session: Session, submitted: str | None) -> bool:
    return bool(submitted) and secrets.compare_digest(session.csrf, submitted or "")
