"""Swedish names of what Vaktpost shows people: labels, personal-data kinds, severities and review statuses.

One table for the review app, alerts and evidence packages, so a colleague reads the same word everywhere.
"""

from __future__ import annotations

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
