"""The labelled harm dataset: load the parts, group near-duplicates, and split train/dev/test.

    python -m models.classifier.dataset [--check]

Parts are ``models/data/parts/*.jsonl`` (see ``models/data/GUIDELINES.md``). Near-duplicates (MinHash over
word 3-grams of the folded text, Jaccard >= 0.6) form one group, and a group goes whole into one split, so
the test split never holds a rephrasing of a training example. The split of a group follows a hash of its
first id: adding examples later does not move the old ones. ``--check`` validates without writing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from datasketch import MinHash, MinHashLSH

from models.text import fold
from vaktpost.schema import LABELS

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
PARTS_DIR = DATA_DIR / "parts"
SPLITS_DIR = DATA_DIR / "splits"
Split = Literal["train", "dev", "test"]
SPLIT_SHARES: tuple[tuple[Split, float], ...] = (("train", 0.70), ("dev", 0.15), ("test", 0.15))
NEAR_DUPLICATE_JACCARD = 0.6
MAX_TEXT_CHARS = 5000
REGISTERS = {
    "flashback", "facebook", "tweet", "telegram", "comment", "rant", "question", "news", "union", "authority",
    "factcheck", "own_case", "supportive", "sports", "gaming", "ad", "contact_page", "corpus", "other",
}  # fmt: skip
ORIGINS = {"written", "template", "corpus"}


class DatasetError(ValueError):
    """A malformed example; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    labels: tuple[str, ...]
    register: str = "other"
    hard_negative: bool = False
    origin: str = "written"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "labels": list(self.labels),
            "register": self.register,
            "hard_negative": self.hard_negative,
            "origin": self.origin,
            **self.extra,
        }


def parse_example(raw: Any, where: str, *, strict: bool = True) -> Example:
    """One example from a parsed JSON line; ``where`` ("file:line") goes into the error. Not ``strict``:
    only ``text`` and ``labels`` are checked (evaluation files written by others)."""
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: expected a JSON object")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DatasetError(f"{where}: 'text' must be a non-empty string")
    if len(text) > MAX_TEXT_CHARS:
        raise DatasetError(f"{where}: text is {len(text)} characters, over {MAX_TEXT_CHARS}")
    labels = raw.get("labels")
    if not isinstance(labels, list) or any(label not in LABELS for label in labels):
        raise DatasetError(f"{where}: 'labels' must be a list of {list(LABELS)}, got {labels!r}")
    register = str(raw.get("register", "other"))
    if register not in REGISTERS:
        if strict:
            raise DatasetError(f"{where}: unknown register {register!r}")
        register = "other"
    origin = str(raw.get("origin", "written"))
    if origin not in ORIGINS:
        if strict:
            raise DatasetError(f"{where}: unknown origin {origin!r}")
        origin = "written"
    known = {"id", "text", "labels", "register", "hard_negative", "origin"}
    return Example(
        id=str(raw.get("id") or ""),
        text=text,
        labels=tuple(label for label in LABELS if label in labels),
        register=register,
        hard_negative=bool(raw.get("hard_negative", False)),
        origin=origin,
        extra={k: v for k, v in raw.items() if k not in known},
    )


def read_jsonl(path: Path, *, strict: bool = True) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as err:
            raise DatasetError(f"{path}:{number}: not JSON ({err.msg})") from err
        example = parse_example(raw, f"{path}:{number}", strict=strict)
        examples.append(example if example.id else Example(**{**example.__dict__, "id": f"{path.stem}-{number}"}))
    return examples


def load_parts(parts_dir: Path = PARTS_DIR) -> list[Example]:
    examples = [e for path in sorted(parts_dir.glob("*.jsonl")) for e in read_jsonl(path)]
    duplicates = [i for i, n in Counter(e.id for e in examples).items() if n > 1]
    if duplicates:
        raise DatasetError(f"{parts_dir}: duplicate ids {duplicates[:5]}")
    return examples


def _shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", fold(text))
    if len(words) < 3:
        return {" ".join(words)}
    return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}


def near_duplicate_groups(examples: Sequence[Example], threshold: float = NEAR_DUPLICATE_JACCARD) -> list[int]:
    """A group number per example; near-duplicates share one (union-find over MinHash LSH candidates)."""
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    hashes = []
    for index, example in enumerate(examples):
        minhash = MinHash(num_perm=128)
        for shingle in _shingles(example.text):
            minhash.update(shingle.encode("utf-8"))
        lsh.insert(str(index), minhash)
        hashes.append(minhash)
    parent = list(range(len(examples)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for index, minhash in enumerate(hashes):
        for other in lsh.query(minhash):
            a, b = root(index), root(int(other))
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [root(i) for i in range(len(examples))]


def split_of(key: str) -> Split:
    point = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    total = 0.0
    for name, share in SPLIT_SHARES:
        total += share
        if point < total:
            return name
    return SPLIT_SHARES[-1][0]


def split(examples: Sequence[Example]) -> dict[Split, list[Example]]:
    groups = near_duplicate_groups(examples)
    first_id: dict[int, str] = {}
    for example, group in zip(examples, groups, strict=True):
        first_id.setdefault(group, example.id)
    out: dict[Split, list[Example]] = {"train": [], "dev": [], "test": []}
    for example, group in zip(examples, groups, strict=True):
        out[split_of(first_id[group])].append(example)
    return out


def write_jsonl(path: Path, examples: Iterable[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for example in examples:
            out.write(json.dumps(example.to_json(), ensure_ascii=False) + "\n")


def summary(examples: Sequence[Example]) -> dict[str, Any]:
    labels = Counter(label for e in examples for label in e.labels)
    return {
        "examples": len(examples),
        "labels": {label: labels[label] for label in LABELS},
        "unlabelled": sum(1 for e in examples if not e.labels),
        "hard_negatives": sum(1 for e in examples if e.hard_negative),
        "origins": dict(Counter(e.origin for e in examples)),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="validate and report, write nothing")
    args = parser.parse_args(argv)
    examples = load_parts()
    splits = split(examples)
    report: dict[str, Any] = {"all": summary(examples)}
    report.update({name: summary(part) for name, part in splits.items()})
    if not args.check:
        for name, part in splits.items():
            write_jsonl(SPLITS_DIR / f"{name}.jsonl", part)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
