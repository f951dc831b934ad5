"""The first real analyser: the Swedish personal-data pack, the doxxing assessment and the lexicon.

Every score is explainable: lexicon spans for the four labels, and for doxxing the exposure of each person
the post names or asks about (see models/doxxing.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from models.doxxing import assess
from models.lexicon import Lexicon
from models.pii import PiiDetector
from models.watchlist import WatchList
from vaktpost.schema import LABELS, Explanation, Exposure, Label, PiiSpan, Post, Verdict


class BaselineAnalyzer:
    def __init__(
        self,
        lexicon: Lexicon,
        thresholds: Mapping[Label, float],
        pii: PiiDetector | None = None,
        watchlist: WatchList | None = None,
    ) -> None:
        self.lexicon = lexicon
        self.thresholds = dict(thresholds)
        self.pii = pii or PiiDetector()
        self.watchlist = watchlist or WatchList()

    @property
    def versions(self) -> dict[str, str]:
        return {"pii": self.pii.version, "lexicon": self.lexicon.name}

    def analyze(self, posts: Sequence[Post]) -> list[Verdict]:
        found = self.pii.detect_many([post.text for post in posts])
        return [self._one(post, spans) for post, spans in zip(posts, found, strict=True)]

    def _one(self, post: Post, spans: list[PiiSpan]) -> Verdict:
        lexical = self.lexicon.score(post.text)
        exposures = assess(
            spans,
            self.watchlist.match(post.text),
            staff_context=lexical.has_target,
            solicitation=lexical.scores["doxxing"],
        )
        scores = dict(lexical.scores)
        scores["doxxing"] = max([lexical.scores["doxxing"], *(e.score for e in exposures)])
        flags: list[Label] = [label for label in LABELS if scores[label] >= self.thresholds[label]]
        return assemble_verdict(post.id, scores, flags, spans, lexical.explanations, exposures, self.versions)


def assemble_verdict(
    post_id: str,
    scores: Mapping[Label, float],
    flags: list[Label],
    spans: list[PiiSpan],
    lexical_explanations: Mapping[Label, list[Explanation]],
    exposures: list[Exposure],
    versions: dict[str, str],
) -> Verdict:
    """A verdict whose doxxing explanations name the kind of each exposed value, never the value itself."""
    explanations = {label: list(items) for label, items in lexical_explanations.items()}
    for exposure in exposures:
        explanations.setdefault("doxxing", []).extend(
            Explanation(
                start=span.start,
                end=span.end,
                text=f"[{span.type}]",  # the exposed value itself stays in the post, not in explanations
                reason=f"{exposure.severity} exposure: {span.type.replace('_', ' ')}",
                weight=exposure.score,
            )
            for span in exposure.spans
        )
    return Verdict(
        post_id=post_id,
        scores={label: round(scores[label], 4) for label in LABELS},
        flags=flags,
        pii=spans,
        explanations={label: explanations[label] for label in LABELS if label in explanations},
        exposures=exposures,
        model=versions,
    )
