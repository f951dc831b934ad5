"""Redaction for alerts and exports: exposed values replaced by their kind, with Presidio's anonymizer."""

from __future__ import annotations

from collections.abc import Sequence

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from vaktpost.schema import PiiSpan

# What a reader sees instead of the value (Swedish: alerts and exports go to Swedish readers).
PLACEHOLDERS = {
    "personnummer": "[PERSONNUMMER]",
    "phone": "[TELEFON]",
    "email": "[E-POST]",
    "street_address": "[ADRESS]",
    "postal_code": "[POSTNUMMER]",
    "license_plate": "[REGNUMMER]",
    "person_name": "[NAMN]",
    "school": "[SKOLA]",
    "workplace": "[ARBETSPLATS]",
    "family": "[FAMILJ]",
    "photo": "[BILD]",
    "routine": "[VANOR]",
}
_engine = AnonymizerEngine()  # type: ignore[no-untyped-call]


def redact(text: str, spans: Sequence[PiiSpan]) -> str:
    """``text`` with every span replaced by its placeholder ("[ADRESS]", "[PERSONNUMMER]", ...)."""
    if not spans:
        return text
    results = [RecognizerResult(span.type, span.start, span.end, span.score) for span in spans]
    operators = {
        kind: OperatorConfig("replace", {"new_value": PLACEHOLDERS.get(kind, f"[{kind.upper()}]")})
        for kind in {span.type for span in spans}
    }
    return str(_engine.anonymize(text=text, analyzer_results=results, operators=operators).text)
