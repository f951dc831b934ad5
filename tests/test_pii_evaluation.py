"""The personal-data pack on the project's annotated evaluation set: scores must not fall below a floor.

The floor sits a little under the scores of the committed pack (see README, "Personal data and doxxing"),
so a change that costs recall or precision on any type fails here before it reaches users.
"""

from __future__ import annotations

import pytest

from models import detect_pii
from models.pii.detector import CORE_TYPES
from models.pii.evaluate import DEFAULT_DATA, evaluate, load

OVERALL_FLOOR = {"precision": 0.94, "recall": 0.94}
TYPE_F1_FLOOR = 0.90


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, float]]:
    items = load(DEFAULT_DATA)
    assert len(items) >= 400
    assert sum(1 for item in items if item["hard_negative"]) >= len(items) * 0.4
    result: dict[str, dict[str, float]] = evaluate(items, detect_pii)["strict"]
    return result


def test_overall_precision_and_recall(scores: dict[str, dict[str, float]]) -> None:
    for measure, floor in OVERALL_FLOOR.items():
        assert scores["overall"][measure] >= floor, (measure, scores["overall"])


@pytest.mark.parametrize("kind", CORE_TYPES)
def test_every_type(scores: dict[str, dict[str, float]], kind: str) -> None:
    assert scores[kind]["support"] >= 30
    assert scores[kind]["f1"] >= TYPE_F1_FLOOR, scores[kind]


def test_the_evaluation_catches_a_broken_detector() -> None:
    items = load(DEFAULT_DATA)[:50]
    result = evaluate(items, lambda text: [s for s in detect_pii(text) if s.type != "person_name"])
    assert result["strict"]["person_name"]["recall"] == 0.0
