"""Hard negatives from official Swedish text: sentences that discuss social services, threats and the LVU
campaign in the sober voice of the Riksdag and the government.

    python -m models.classifier.corpus_negatives [--limit 700]

Reads ``$VAKTPOST_SHARED_DATA`` (default ``../shared/data``) and writes ``models/data/parts/corpus.jsonl``.
Riksdag documents are open data; government texts are public documents (URL 1 kap. 9 §). Both are named in
``models/data/DATASET_CARD.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import re
from collections.abc import Iterator
from pathlib import Path

from models.classifier.dataset import PARTS_DIR, Example, write_jsonl
from models.spacy.prepare import shared_data_dir

TOPIC = re.compile(
    r"socialtjänst|socialsekreterare|socialnämnd|\bLVU\b|omhändertag|tvångsvård|familjehem|placerade barn|"
    r"hot mot|hot och våld|desinformation|kampanj mot",
    re.IGNORECASE,
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ])")
SOURCES = (
    ("lvu_campaign_reference/regeringen_docs_mentioning_lvu_campaign.jsonl", "regeringen"),
    ("lvu_campaign_reference/riksdagen_docs_2018-2021_threats_disinfo_socialtjanst.jsonl", "riksdagen"),
    ("corpus_riksdagen_docs_2018_2021/riksdagen_mot_bet_prop_2018-2021.jsonl.xz", "riksdagen"),
)


def documents(path: Path) -> Iterator[str]:
    with lzma.open(path, "rt", encoding="utf-8") if path.suffix == ".xz" else path.open(encoding="utf-8") as lines:
        for line in lines:
            text = json.loads(line).get("text")
            if isinstance(text, str):
                yield text


def sentences(text: str) -> Iterator[str]:
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip().lstrip("#").strip()
        for sentence in SENTENCE_END.split(paragraph):
            words = sentence.split()
            if 8 <= len(words) <= 50 and TOPIC.search(sentence) and not re.search(r"\d{4}/\d{2}:", sentence):
                yield sentence


def collect(data: Path, limit: int) -> list[Example]:
    seen: set[str] = set()
    found: list[tuple[str, str, str]] = []
    for relative, origin in SOURCES:
        for document in documents(data / relative):
            for sentence in sentences(document):
                if sentence not in seen:
                    seen.add(sentence)
                    found.append((hashlib.sha256(sentence.encode()).hexdigest(), sentence, origin))
    found.sort()  # a reproducible sample, spread over all documents
    return [
        Example(
            id=f"cor-{index:04d}",
            text=sentence,
            labels=(),
            register="corpus",
            hard_negative=True,
            origin="corpus",
            extra={"note": f"sentence from {origin}"},
        )
        for index, (_, sentence, origin) in enumerate(found[:limit], start=1)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=700)
    args = parser.parse_args()
    examples = collect(shared_data_dir(), args.limit)
    write_jsonl(PARTS_DIR / "corpus.jsonl", examples)
    print(f"{len(examples)} sentences -> {PARTS_DIR / 'corpus.jsonl'}")


if __name__ == "__main__":
    main()
