"""The transparent lexicon baseline: weighted Swedish patterns per label, with the spans that fired.

Scoring, per label: noisy-OR over the distinct entries that match (1 - prod(1 - weight)); threat and
harassment are halved when the post neither names social services or its staff nor addresses someone;
context cues dampen: reporting (news, fact-checks, union statements) all labels, sports and games
threat and harassment, one's own case disinformation, public office contact details doxxing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.text import fold
from vaktpost.schema import LABELS, Explanation, Label

BUNDLED = Path(__file__).with_name("sv.toml")
NO_TARGET_FACTOR = 0.5
CONTEXT_EFFECTS: dict[str, tuple[Label, ...]] = {
    "reporting": LABELS,
    "sports": ("threat", "harassment"),
    "own_case": ("disinformation",),
    "public_office": ("doxxing",),
}


class LexiconError(ValueError):
    """The lexicon file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    pattern: re.Pattern[str]
    weight: float
    note: str


@dataclass(frozen=True)
class Match:
    entry: Entry
    start: int
    end: int


@dataclass(frozen=True)
class LexiconResult:
    scores: dict[Label, float]
    explanations: dict[Label, list[Explanation]]
    has_target: bool
    contexts: dict[str, float]


class Lexicon:
    def __init__(self, path: Path = BUNDLED) -> None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise LexiconError(f"cannot read lexicon {path}: {err}") from err
        self.path = path
        self.version = str(data.get("version", "unversioned"))
        target = data.get("target", {})
        self.targets = [_compile(p, path, "target") for p in target.get("patterns", [])]
        self.second_person = [_compile(p, path, "target.second_person") for p in target.get("second_person", [])]
        self.labels: dict[Label, list[Entry]] = {
            label: [_entry(raw, path, f"label.{label}") for raw in data.get("label", {}).get(label, [])]
            for label in LABELS
        }
        unknown = set(data.get("label", {})) - set(LABELS)
        if unknown:
            raise LexiconError(f"{path}: unknown labels {sorted(unknown)}; expected {list(LABELS)}")
        self.contexts: dict[str, list[Entry]] = {
            kind: [_entry(raw, path, f"context.{kind}") for raw in data.get("context", {}).get(kind, [])]
            for kind in CONTEXT_EFFECTS
        }

    @property
    def name(self) -> str:
        return f"lexicon-{self.path.stem}@{self.version}"

    def find(self, folded: str, entries: list[Entry]) -> list[Match]:
        """The first match of each entry that matches anywhere in the folded text."""
        found = []
        for entry in entries:
            if match := entry.pattern.search(folded):
                found.append(Match(entry, match.start(), match.end()))
        return found

    def mentions_target(self, folded: str) -> bool:
        return any(p.search(folded) for p in self.targets)

    def score(self, text: str) -> LexiconResult:
        folded = fold(text)
        has_target = self.mentions_target(folded)
        addressed = has_target or any(p.search(folded) for p in self.second_person)
        contexts = {
            kind: max((m.entry.weight for m in self.find(folded, entries)), default=0.0)
            for kind, entries in self.contexts.items()
        }
        scores: dict[Label, float] = {}
        explanations: dict[Label, list[Explanation]] = {}
        for label in LABELS:
            matches = self.find(folded, self.labels[label])
            score = noisy_or(m.entry.weight for m in matches)
            if label in ("threat", "harassment") and not addressed:
                score *= NO_TARGET_FACTOR
            for kind, strength in contexts.items():
                if label in CONTEXT_EFFECTS[kind]:
                    score *= 1.0 - strength
            scores[label] = round(score, 4)
            if matches:
                explanations[label] = [
                    Explanation(
                        start=m.start,
                        end=m.end,
                        text=text[m.start : m.end],
                        reason=m.entry.note,
                        weight=m.entry.weight,
                    )
                    for m in sorted(matches, key=lambda m: m.start)
                ]
        return LexiconResult(scores, explanations, has_target, contexts)


def noisy_or(weights: Any) -> float:
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - float(weight)
    return 1.0 - remaining


def _compile(pattern: str, path: Path, where: str) -> re.Pattern[str]:
    """Patterns match folded text, which is lower case; matching case-sensitively halves the time."""
    if re.search(r"[A-ZÅÄÖ]", re.sub(r"\\.", "", pattern)):
        raise LexiconError(f"{path}: pattern in [{where}] {pattern!r} has capitals; it matches folded, lower-case text")
    try:
        return re.compile(pattern)
    except re.error as err:
        raise LexiconError(f"{path}: bad pattern in [{where}] {pattern!r}: {err}") from err


def _entry(raw: dict[str, Any], path: Path, where: str) -> Entry:
    try:
        weight = float(raw["weight"])
        pattern = str(raw["pattern"])
    except (KeyError, TypeError, ValueError) as err:
        raise LexiconError(f"{path}: entry in [{where}] needs a pattern and a numeric weight: {raw!r}") from err
    if not 0.0 <= weight <= 1.0:
        raise LexiconError(f"{path}: weight {weight} in [{where}] {pattern!r} must be between 0 and 1")
    return Entry(_compile(pattern, path, where), weight, str(raw.get("note", where)))
