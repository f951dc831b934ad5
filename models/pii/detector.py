"""Personal-data detection: Presidio's analyzer engine with the Swedish recognizers.

Presidio needs an NLP engine for context words; until the project's trained Swedish spaCy pipeline is
wired in, a blank Swedish tokenizer whose "lemmas" are the lower-cased tokens serves that purpose.
"""

from __future__ import annotations

import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from spacy.language import Language
from spacy.tokens import Doc

from models.pii.recognizers import LANGUAGE, swedish_recognizers
from vaktpost.schema import PiiSpan

VERSION = "sv-patterns@0.1.0"
MIN_SCORE = 0.45


@Language.component("vaktpost_lower_lemma")
def _lower_lemma(doc: Doc) -> Doc:
    for token in doc:
        token.lemma_ = token.lower_
    return doc


class _BlankSwedishEngine(SpacyNlpEngine):
    def __init__(self) -> None:
        super().__init__(models=[{"lang_code": LANGUAGE, "model_name": "blank:sv"}])

    def load(self) -> None:
        nlp = spacy.blank(LANGUAGE)
        nlp.add_pipe("vaktpost_lower_lemma")
        self.nlp = {LANGUAGE: nlp}  # type: ignore[assignment]


class PiiDetector:
    """Finds personal data in Swedish text; the spans carry the exact text and character offsets."""

    version = VERSION

    def __init__(self) -> None:
        registry = RecognizerRegistry(supported_languages=[LANGUAGE])
        for recognizer in swedish_recognizers():
            registry.add_recognizer(recognizer)
        engine = _BlankSwedishEngine()
        engine.load()
        self._engine = AnalyzerEngine(
            registry=registry,
            nlp_engine=engine,
            supported_languages=[LANGUAGE],
            context_aware_enhancer=LemmaContextAwareEnhancer(
                context_similarity_factor=0.3,
                min_score_with_context_similarity=0.6,
                context_prefix_count=6,
                context_suffix_count=2,
            ),
        )

    def detect(self, text: str) -> list[PiiSpan]:
        if not text.strip():
            return []
        results = self._engine.analyze(text=text, language=LANGUAGE, score_threshold=MIN_SCORE)
        return [
            PiiSpan(
                type=r.entity_type,
                text=text[r.start : r.end],
                start=r.start,
                end=r.end,
                score=round(r.score, 3),
            )
            for r in _without_overlaps(results)
        ]


def _without_overlaps(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Where spans of different types overlap keep the most confident (then the longest) one."""
    ordered = sorted(results, key=lambda r: (-r.score, -(r.end - r.start), r.start))
    kept: list[RecognizerResult] = []
    for result in ordered:
        if all(result.end <= other.start or result.start >= other.end for other in kept):
            kept.append(result)
    return sorted(kept, key=lambda r: r.start)
