"""The labelled harm dataset: size and mix, reproducible splits without leaks, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.classifier.dataset import (
    DATA_DIR,
    SPLITS_DIR,
    DatasetError,
    Example,
    load_parts,
    near_duplicate_groups,
    read_jsonl,
    split,
)
from vaktpost.schema import LABELS


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return load_parts()


def test_size_and_mix(examples: list[Example]) -> None:
    assert len(examples) >= 3000
    assert sum(1 for e in examples if e.origin == "written") >= 1500
    assert sum(1 for e in examples if e.hard_negative) >= 0.4 * len(examples)
    for label in LABELS:
        assert sum(1 for e in examples if label in e.labels) >= 300, label
    assert len({e.register for e in examples}) >= 15


def test_committed_splits_are_the_splits_of_the_parts(examples: list[Example]) -> None:
    expected = split(examples)
    for name, part in expected.items():
        committed = read_jsonl(SPLITS_DIR / f"{name}.jsonl")
        assert [e.id for e in committed] == [e.id for e in part], f"re-run python -m models.classifier.dataset ({name})"


def test_near_duplicates_never_cross_splits(examples: list[Example]) -> None:
    where = {e.id: name for name, part in split(examples).items() for e in part}
    groups = near_duplicate_groups(examples)
    by_group: dict[int, set[str]] = {}
    for example, group in zip(examples, groups, strict=True):
        by_group.setdefault(group, set()).add(where[example.id])
    assert all(len(splits) == 1 for splits in by_group.values())


def test_near_duplicates_are_found() -> None:
    texts = [
        "Soc tar barnen från muslimska familjer och säljer dem vidare, alla vet det",
        "soc tar barnen från muslimska familjer och säljer dem vidare alla vet det!!",
        "Träningen i kväll är inställd på grund av snön",
    ]
    groups = near_duplicate_groups([Example(id=str(i), text=t, labels=()) for i, t in enumerate(texts)])
    assert groups[0] == groups[1] != groups[2]


def test_the_challenge_set_is_independent(examples: list[Example]) -> None:
    challenge = read_jsonl(DATA_DIR / "challenge.jsonl")
    assert len(challenge) >= 400
    combined = examples + challenge
    groups = near_duplicate_groups(combined)
    train_groups = set(groups[: len(examples)])
    assert sum(1 for g in groups[len(examples) :] if g in train_groups) <= 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        ('{"id": "x", "text": "", "labels": []}', "non-empty"),
        ('{"id": "x", "text": "hej", "labels": ["rudeness"]}', "labels"),
        ('{"id": "x", "text": "hej", "labels": [], "register": "blog"}', "register"),
    ],
)
def test_a_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "part.jsonl"
    path.write_text('{"id": "ok", "text": "hej", "labels": []}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=rf"part\.jsonl:2: .*{message}"):
        read_jsonl(path)
