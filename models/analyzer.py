"""The analysis stage's interface: posts in, verdicts out. The flow depends on nothing else here.

Later analysers (the transformer classifier) implement the same protocol and are chosen by settings,
without touching the flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

from vaktpost.datadir import DataDir
from vaktpost.schema import Post, Verdict
from vaktpost.settings import Settings


class Analyzer(Protocol):
    @property
    def versions(self) -> dict[str, str]:
        """Component name -> version, recorded in every verdict."""
        ...

    def analyze(self, posts: Sequence[Post]) -> list[Verdict]:
        """One verdict per post, in the same order."""
        ...


def watchlist_path(settings: Settings) -> str:
    return str(DataDir(settings.data_dir).secrets / "watchlist.enc")


def load_analyzer(
    settings: Settings, *, analyzer: Literal["transformer", "baseline"] | None = None, model: Path | None = None
) -> Analyzer:
    """The analyser the settings ask for (or ``analyzer``/``model`` when given), with the protected-staff
    watch-list of the data dir."""
    from models.baseline import BaselineAnalyzer
    from models.lexicon import BUNDLED, Lexicon
    from models.watchlist import WatchList

    key = settings.watchlist_key.get_secret_value() if settings.watchlist_key else None
    watchlist = WatchList.load(Path(watchlist_path(settings)), key)
    lexicon = Lexicon(settings.analysis.lexicon or BUNDLED)
    if (analyzer or settings.analysis.analyzer) == "baseline":
        return BaselineAnalyzer(lexicon, settings.analysis.thresholds, watchlist=watchlist)
    from models.classifier.analyzer import TransformerAnalyzer
    from models.classifier.predict import HarmClassifier

    return TransformerAnalyzer(HarmClassifier(model or settings.analysis.model), lexicon, watchlist=watchlist)
