"""Swedish action names and Stockholm times for what a package shows the police (label and data names come
from ``vaktpost.swedish``, shared with the review app and the alerts)."""

from __future__ import annotations

from datetime import UTC, datetime

from vaktpost.swedish import STOCKHOLM

ACTION_NAMES = {
    "view": "visade inlägget",
    "review": "granskade",
    "evidence_download": "laddade ned beviset (WARC)",
    "evidence_export": "skapade ett bevispaket",
    "export": "exporterade",
}


def both_zones(at: datetime) -> dict[str, str]:
    """A moment as ISO 8601 with its offset, in UTC and in Swedish time."""
    return {"utc": at.astimezone(UTC).isoformat(), "stockholm": at.astimezone(STOCKHOLM).isoformat()}


def stockholm(at: datetime | None, pattern: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    """A moment in Swedish time for people to read ("2026-11-20 13:00:00 CET")."""
    return at.astimezone(STOCKHOLM).strftime(pattern) if at else "–"


def utc(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else "–"
