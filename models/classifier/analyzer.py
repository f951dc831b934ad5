"""The transformer analyser: the harm classifier's four scores, with the personal-data pack and the
doxxing assessment folded into the doxxing score and the lexicon's matches kept as explanations.

``vaktpost classify`` and the nightly flow both go through ``TransformerAnalyzer.analyze_texts``.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.baseline import assemble_verdict
from models.classifier.predict import HarmClassifier
from models.doxxing import assess
from models.lexicon import Lexicon
from models.pii import PiiDetector
from models.watchlist import WatchList
from vaktpost.schema import LABELS, Exposure, Label, PiiSpan, Post, Verdict


def exposure_score(exposures: Sequence[Exposure]) -> float:
    return max((e.score for e in exposures), default=0.0)


def pii_doxxing_scores(texts: Sequence[str], pii: PiiDetector, lexicon: Lexicon) -> list[float]:
    """The doxxing score the personal-data pack alone gives each text (no watch-list): what training uses
    to choose the doxxing threshold for the combined score."""
    scores = []
    for text, spans in zip(texts, pii.detect_many(texts), strict=True):
        lexical = lexicon.score(text)
        exposures = assess(spans, [], staff_context=lexical.has_target, solicitation=lexical.scores["doxxing"])
        scores.append(exposure_score(exposures))
    return scores


class TransformerAnalyzer:
    def __init__(
        self,
        classifier: HarmClassifier,
        lexicon: Lexicon,
        pii: PiiDetector | None = None,
        watchlist: WatchList | None = None,
    ) -> None:
        self.classifier = classifier
        self.lexicon = lexicon
        self.pii = pii or PiiDetector()
        self.watchlist = watchlist or WatchList()

    @property
    def versions(self) -> dict[str, str]:
        return {"classifier": self.classifier.tag, "pii": self.pii.version, "lexicon": self.lexicon.name}

    def analyze(self, posts: Sequence[Post]) -> list[Verdict]:
        return self.analyze_texts([(post.id, post.text) for post in posts])

    def analyze_texts(self, items: Sequence[tuple[str, str]]) -> list[Verdict]:
        """One verdict per (id, text), in order."""
        texts = [text for _, text in items]
        all_spans = self.pii.detect_many(texts)
        all_scores = self.classifier.scores(texts)
        return [
            self._one(post_id, text, spans, scores)
            for (post_id, text), spans, scores in zip(items, all_spans, all_scores, strict=True)
        ]

    def _one(self, post_id: str, text: str, spans: list[PiiSpan], scores: dict[Label, float]) -> Verdict:
        lexical = self.lexicon.score(text)
        exposures = assess(
            spans,
            self.watchlist.match(text),
            staff_context=lexical.has_target,
            solicitation=lexical.scores["doxxing"],
        )
        if self.classifier.meta.pii_doxxing:
            scores = {**scores, "doxxing": max(scores["doxxing"], exposure_score(exposures))}
        flags = self.classifier.flags(scores)
        return assemble_verdict(
            post_id, {label: scores[label] for label in LABELS}, flags, spans, lexical.explanations, exposures,
            self.versions,
        )  # fmt: skip
