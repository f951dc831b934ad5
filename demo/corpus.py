"""The fictional demo corpus, with relative times ("3 days ago, 21:13") turned into real timestamps."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CORPUS_DIR = Path(__file__).parent / "corpus"


@dataclass(frozen=True)
class Quote:
    author: str | None
    post_id: int | None
    text: str


@dataclass(frozen=True)
class ForumPost:
    id: int
    author: str
    user_id: int | None
    created_at: datetime
    days_ago: int
    text: str
    quote: Quote | None
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Thread:
    id: int
    title: str
    sticky: bool
    moved: bool
    posts: tuple[ForumPost, ...]


@dataclass(frozen=True)
class Forum:
    id: int
    title: str
    threads: tuple[Thread, ...]


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    acct: str
    display_name: str
    note: str
    bot: bool
    created_at: datetime


@dataclass(frozen=True)
class Status:
    id: str
    account: Account
    created_at: datetime
    days_ago: int
    text: str
    spoiler_text: str
    language: str | None
    tags: tuple[str, ...]
    in_reply_to_id: str | None
    reblog_of: str | None
    edited: bool
    labels: tuple[str, ...]


@dataclass
class Corpus:
    """Both sources' content. ``hide_days`` hides the newest posts, to let tests make a site grow."""

    forums: list[Forum]
    accounts: dict[str, Account]
    statuses: list[Status]
    instance: str
    anchor: datetime
    hide_days: int = field(default=-1)

    @classmethod
    def load(cls, anchor: datetime | None = None, directory: Path = CORPUS_DIR) -> Corpus:
        anchor = (anchor or datetime.now(UTC)).astimezone(UTC)
        forum_data = json.loads((directory / "flashback.json").read_text(encoding="utf-8"))
        mastodon_data = json.loads((directory / "mastodon.json").read_text(encoding="utf-8"))
        forums = [_forum(raw, anchor) for raw in forum_data["forums"]]
        accounts = {raw["id"]: _account(raw, anchor) for raw in mastodon_data["accounts"]}
        statuses = [_status(raw, accounts, anchor) for raw in mastodon_data["statuses"]]
        return cls(forums, accounts, statuses, mastodon_data["instance"], anchor)

    def visible(self, days_ago: int) -> bool:
        return days_ago > self.hide_days

    def forum_posts(self) -> list[tuple[Forum, Thread, ForumPost]]:
        return [
            (forum, thread, post)
            for forum in self.forums
            for thread in forum.threads
            for post in thread.posts
            if self.visible(post.days_ago)
        ]

    def visible_statuses(self) -> list[Status]:
        return [status for status in self.statuses if self.visible(status.days_ago)]


def resolve(days_ago: int, clock: str, anchor: datetime) -> datetime:
    """Local Swedish date ``days_ago`` days before the anchor at ``clock``; never later than the anchor."""
    local_anchor = anchor.astimezone(STOCKHOLM)
    hour, minute = (int(part) for part in clock.split(":"))
    moment = datetime.combine(local_anchor.date() - timedelta(days=days_ago), time(hour, minute), tzinfo=STOCKHOLM)
    if moment > local_anchor:
        moment -= timedelta(days=1)
    return moment.astimezone(UTC)


def _forum(raw: dict[str, Any], anchor: datetime) -> Forum:
    threads = []
    for thread in raw["threads"]:
        posts = tuple(
            ForumPost(
                id=int(p["id"]),
                author=p["author"],
                user_id=p.get("user_id"),
                created_at=resolve(p["days_ago"], p["time"], anchor),
                days_ago=int(p["days_ago"]),
                text=p["text"],
                quote=Quote(p["quote"].get("author"), p["quote"].get("post_id"), p["quote"]["text"])
                if p.get("quote")
                else None,
                labels=tuple(p.get("labels", [])),
            )
            for p in thread.get("posts", [])
        )
        threads.append(
            Thread(
                int(thread["id"]),
                thread["title"],
                bool(thread.get("sticky")),
                bool(thread.get("moved")),
                posts,
            )
        )
    return Forum(int(raw["id"]), raw["title"], tuple(threads))


def _account(raw: dict[str, Any], anchor: datetime) -> Account:
    created = anchor - timedelta(days=int(raw.get("created_at_days_ago", 700)))
    return Account(
        id=raw["id"],
        username=raw["username"],
        acct=raw["acct"],
        display_name=raw.get("display_name", ""),
        note=raw.get("note", ""),
        bot=bool(raw.get("bot")),
        created_at=created.replace(hour=0, minute=0, second=0, microsecond=0),
    )


def _status(raw: dict[str, Any], accounts: dict[str, Account], anchor: datetime) -> Status:
    return Status(
        id=raw["id"],
        account=accounts[raw["account"]],
        created_at=resolve(raw["days_ago"], raw["time"], anchor),
        days_ago=int(raw["days_ago"]),
        text=raw.get("text", ""),
        spoiler_text=raw.get("spoiler_text", ""),
        language=raw.get("language"),
        tags=tuple(tag.lower() for tag in raw.get("tags", [])),
        in_reply_to_id=raw.get("in_reply_to_id"),
        reblog_of=raw.get("reblog_of"),
        edited=bool(raw.get("edited")),
        labels=tuple(raw.get("labels", [])),
    )
