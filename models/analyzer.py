"""The analysis stage's interface: posts in, verdicts out. The flow depends on nothing else here.

Later analysers (the trained Swedish pipeline, the transformer classifier) implement the same protocol
and are chosen by settings, without touching the flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from vaktpost.schema import Post, Verdict
from vaktpost.settings import AnalysisSettings


class Analyzer(Protocol):
    @property
    def versions(self) -> dict[str, str]:
        """Component name -> version, recorded in every verdict."""
        ...

    def analyze(self, posts: Sequence[Post]) -> list[Verdict]:
        """One verdict per post, in the same order."""
        ...


def load_analyzer(settings: AnalysisSettings) -> Analyzer:
    """The analyser the settings ask for (today: the pattern + lexicon baseline)."""
    from models.baseline import BaselineAnalyzer
    from models.lexicon import BUNDLED, Lexicon

    return BaselineAnalyzer(Lexicon(settings.lexicon or BUNDLED), settings.thresholds)
