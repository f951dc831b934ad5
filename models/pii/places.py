"""Schools, preschools and workplaces: where staff and their children can be found."""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from models.pii.recognizers import LANGUAGE
from models.text import fold

_SCHOOL_WORD = r"(?:förskola|skola|fritidshem|förskoleklass|friskola|grundskola|gymnasium|dagis)"
_NAMED_BEFORE = re.compile(rf"\b[A-ZÅÄÖ][\wåäöéÅÄÖ-]*s?\s+{_SCHOOL_WORD}\b")
_NAMED_AFTER = re.compile(r"(?i:\b(?:förskolan|skolan|fritids|dagiset|dagis|friskolan))\s+[A-ZÅÄÖ][\wåäö-]+")
_COMPOUND = re.compile(r"\b[\wåäöéÅÄÖ-]{3,}?(?:förskolan|förskola|skolan|gymnasiet)\b", re.IGNORECASE)
# Compounds that name a kind of school, not a particular one.
_GENERIC = {
    "grund", "gymnasie", "hog", "sar", "sommar", "kor", "musik", "kultur", "folkhog", "yrkes", "dans", "sim",
    "bil", "mc", "trafik", "sprak", "resurs", "fri", "special", "mellan", "lag", "sfi", "vuxen", "yrkeshog",
    "natur", "kommunala", "kommunal", "privat", "forskole", "for", "hem", "inter", "waldorf", "montessori",
    "lekplats", "flyg", "skid", "rid", "segel", "mat", "tand", "sjukhus", "polis", "hund", "konst", "teater",
    "mammans", "pappans", "nya", "gamla", "andra", "samma", "hela", "egna", "vanliga", "hennes", "hans",
}  # fmt: skip
_WORKPLACE = re.compile(
    r"(?i:\b(?:socialtjänsten|socialkontoret|socialförvaltningen|socialnämnden|individ- och familjeomsorgen|ifo|"
    r"familjeenheten|barn- och familjeenheten|barn och familj|barnenheten|vuxenenheten|mottagningsenheten|"
    r"utredningsenheten|familjehemsenheten|ekonomiskt bistånd|försörjningsstöd|socialjouren|familjerätten|soc(?:en)?))"
    r"\s+(?:i|på|vid|inom)\s+[A-ZÅÄÖ][\wåäö-]+(?:\s+kommun)?"
)


class SchoolRecognizer(EntityRecognizer):
    """``school``: "Solrosens förskola", "Ektorpsskolan", "förskolan Myran" - not "grundskolan" or "skolan"."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["school"], supported_language=LANGUAGE, name="SwedishSchoolRecognizer")

    def load(self) -> None:
        return None

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        for pattern in (_NAMED_BEFORE, _NAMED_AFTER):
            found += [RecognizerResult("school", m.start(), m.end(), 0.75) for m in pattern.finditer(text)]
        for match in _COMPOUND.finditer(text):
            word = fold(match.group())
            prefix = re.sub(r"(forskolan|forskola|skolan|gymnasiet)$", "", word).rstrip("s-")
            if len(prefix) < 3 or prefix in _GENERIC or prefix.endswith(("grund", "gymnasie", "hog")):
                continue
            score = 0.75 if match.group()[:1].isupper() else 0.55
            found.append(RecognizerResult("school", match.start(), match.end(), score))
        return found


class WorkplaceRecognizer(EntityRecognizer):
    """``workplace``: a social services unit in a named place ("familjeenheten i Skogsby")."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["workplace"], supported_language=LANGUAGE, name="WorkplaceRecognizer")

    def load(self) -> None:
        return None

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return [RecognizerResult("workplace", m.start(), m.end(), 0.6) for m in _WORKPLACE.finditer(text)]
