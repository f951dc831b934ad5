"""Swedish names and Stockholm times for what a package shows the police.

The names mirror the review app's (``review.presentation``), which this package may not import.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")

LABEL_NAMES = {
    "disinformation": "Desinformation",
    "doxxing": "Doxning",
    "threat": "Hot",
    "harassment": "Trakasserier",
}
STATUS_NAMES = {"new": "Ny", "confirmed": "Bekräftad", "dismissed": "Avfärdad", "escalated": "Eskalerad"}
PII_NAMES = {
    "personnummer": "Personnummer",
    "samordningsnummer": "Samordningsnummer",
    "phone": "Telefonnummer",
    "email": "E-postadress",
    "street_address": "Adress",
    "postal_code": "Postnummer",
    "license_plate": "Registreringsnummer",
    "person_name": "Namn",
    "school": "Skola eller förskola",
    "workplace": "Arbetsplats",
    "family": "Familj",
    "photo": "Bild eller film",
    "routine": "Vanor och tider",
}
SEVERITY_NAMES = {"critical": "Kritisk", "high": "Hög", "medium": "Medel", "low": "Låg"}
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
