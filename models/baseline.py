"""The first real analyser: Presidio personal-data patterns plus the Swedish lexicon, fully explainable.

Doxxing combines both: exposed personal data counts fully when the post is about social services staff
or asks for such details, and only weakly otherwise (a bicycle ad with a phone number is not a doxx).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from models.lexicon import Lexicon, noisy_or
from models.pii import PiiDetector
from vaktpost.schema import LABELS, Explanation, Label, PiiSpan, Post, Verdict

# How much each kind of exposed data says about locating or identifying a person.
PII_WEIGHTS = {
    "personnummer": 0.6,
    "street_address": 0.5,
    "license_plate": 0.35,
    "phone": 0.35,
    "email": 0.25,
    "postal_code": 0.2,
}
UNRELATED_PII_FACTOR = 0.4


class BaselineAnalyzer:
    def __init__(self, lexicon: Lexicon, thresholds: Mapping[Label, float], pii: PiiDetector | None = None) -> None:
        self.lexicon = lexicon
        self.thresholds = dict(thresholds)
        self.pii = pii or PiiDetector()

    @property
    def versions(self) -> dict[str, str]:
        return {"pii": self.pii.version, "lexicon": self.lexicon.name}

    def analyze(self, posts: Sequence[Post]) -> list[Verdict]:
        return [self._one(post) for post in posts]

    def _one(self, post: Post) -> Verdict:
        spans = self.pii.detect(post.text)
        lexical = self.lexicon.score(post.text)
        scores = dict(lexical.scores)
        explanations = {label: list(items) for label, items in lexical.explanations.items()}
        scores["doxxing"], pii_explanations = self._doxxing(
            spans, lexical.scores["doxxing"], lexical.has_target, lexical.contexts
        )
        if pii_explanations:
            explanations.setdefault("doxxing", []).extend(pii_explanations)
        flags: list[Label] = [label for label in LABELS if scores[label] >= self.thresholds[label]]
        return Verdict(
            post_id=post.id,
            scores={label: round(scores[label], 4) for label in LABELS},
            flags=flags,
            pii=spans,
            explanations={label: explanations[label] for label in LABELS if label in explanations},
            model=self.versions,
        )

    def _doxxing(
        self, spans: list[PiiSpan], lexical: float, has_target: bool, contexts: Mapping[str, float]
    ) -> tuple[float, list[Explanation]]:
        if not spans:
            return lexical, []
        relevance = 1.0 if has_target or lexical > 0 else UNRELATED_PII_FACTOR
        office = 1.0 - contexts.get("public_office", 0.0)
        weights = {span.type: PII_WEIGHTS.get(span.type, 0.2) * span.score * relevance * office for span in spans}
        # lexical already carries its own context damping; PII is damped above, combine the two.
        score = noisy_or([lexical, *weights.values()])
        explanations = [
            Explanation(
                start=span.start,
                end=span.end,
                text=f"[{span.type}]",
                reason=f"exposed {span.type.replace('_', ' ')}",
                weight=round(weights[span.type], 4),
            )
            for span in spans
        ]
        return score, explanations
