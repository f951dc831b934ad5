"""Language processing and classifiers: posts in, verdicts out.

Public interface: ``Analyzer`` (the protocol the flow depends on), ``load_analyzer(settings)``,
``detect_pii(text)`` (the personal-data spans of a text) and ``redact(text, spans)``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from models.analyzer import Analyzer, load_analyzer

if TYPE_CHECKING:
    from models.pii import PiiDetector
    from vaktpost.schema import PiiSpan


@cache
def _detector() -> PiiDetector:
    from models.pii import PiiDetector

    return PiiDetector()


def detect_pii(text: str) -> list[PiiSpan]:
    """Personal-data spans of a Swedish text: personnummer, phone, email, street_address, postal_code,
    license_plate, person_name, school, and the doxxing cues workplace, family, photo, routine."""
    return _detector().detect(text)


def redact(text: str, spans: list[PiiSpan]) -> str:
    from models.redaction import redact as _redact

    return _redact(text, spans)


def placeholder(kind: str) -> str:
    """What a reader sees instead of an exposed value of this kind ("[ADRESS]", "[PERSONNUMMER]", ...)."""
    from models.redaction import PLACEHOLDERS

    return PLACEHOLDERS.get(kind, f"[{kind.upper()}]")


__all__ = ["Analyzer", "detect_pii", "load_analyzer", "placeholder", "redact"]
