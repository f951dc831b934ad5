"""What else a doxx exposes besides numbers and names: family members, pictures, routines and whereabouts.

These spans are cues for the doxxing assessment; each is weak alone and serious next to a name or address.
"""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from models.pii.recognizers import LANGUAGE

_PERSON = r"(?:hennes|hans|deras|dennes|handläggarens|sekreterarens|soc-?tantens|chefens)"
CUES: dict[str, re.Pattern[str]] = {
    "family": re.compile(
        rf"(?i:\b{_PERSON}\s+(?:barn|barnen|son|sonen|dotter|dottern|döttrar|söner|ungar|ungarna|unge|kids|"
        r"man|make|fru|maka|sambo|pojkvän|flickvän|mamma|pappa|föräldrar|familj|familjen|syster|bror)\b)"
    ),
    "photo": re.compile(
        r"(?i:\b(?:bild(?:er|en|erna)?|foto(?:n|t|na)?|film(?:en|at|ade|ar)?|video(?:n|klipp)?|filmat|fotat|"
        r"fotade|filmade|screenshot|skärmdump)\s+(?:på|av)\s+(?:henne|honom|dem|hennes|hans|deras|soc-?tanten|"
        r"handläggaren|socialsekreteraren)\b)"
        r"|(?i:\b(?:filmade|fotade|filmar|fotar)\s+(?:henne|honom|dem|handläggaren|socialsekreteraren)\b)"
    ),
    "routine": re.compile(
        r"(?i:\b(?:varje|alla)\s+(?:dag|morgon|kväll|eftermiddag|måndag|tisdag|onsdag|torsdag|fredag|vecka)\b"
        r"[^.!?\n]{0,50})"
        r"|(?i:\b(?:går|åker|slutar|kommer|hämtar|lämnar|parkerar|promenerar|tränar|handlar)\b[^.!?\n]{0,40}"
        r"\b(?:kl\.?|klockan)\s*\d{1,2}(?:[.:]\d{2})?)"
        r"|(?i:\b(?:hämtar|lämnar)\s+(?:barnen|ungarna|sonen|dottern|sina barn)\b)"
        r"|(?i:\b(?:parkerar|ställer bilen)\b[^.!?\n]{0,40})"
    ),
}


class DoxxingCueRecognizer(EntityRecognizer):
    """``family``, ``photo`` and ``routine`` spans."""

    def __init__(self) -> None:
        super().__init__(supported_entities=list(CUES), supported_language=LANGUAGE, name="DoxxingCueRecognizer")

    def load(self) -> None:
        return None

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return [
            RecognizerResult(kind, match.start(), match.end(), 0.6)
            for kind, pattern in CUES.items()
            if kind in entities
            for match in pattern.finditer(text)
        ]
