"""Speed of the personal-data pack and of the whole analyser on one core, for typical 50-word posts.

    python -m bench.pii [--posts N]

Posts are demo texts cut or joined to about 50 words. Numeric libraries are limited to one thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402 - the thread limits must be set before numeric libraries load
import json  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from demo.corpus import Corpus  # noqa: E402
from models import load_analyzer  # noqa: E402
from models.pii import PiiDetector  # noqa: E402
from vaktpost.schema import Post  # noqa: E402
from vaktpost.settings import Settings  # noqa: E402


def fifty_word_posts(count: int) -> list[str]:
    corpus = Corpus.load()
    words = " ".join(p.text for _, _, p in corpus.forum_posts()).split()
    return [" ".join(words[(i * 50) % (len(words) - 50) :][:50]) for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the personal-data pack; the best counts")
    args = parser.parse_args()
    texts = fifty_word_posts(args.posts)
    detector = PiiDetector()
    detector.detect_many(texts[:64])
    timings = []
    for _ in range(args.repeat):  # the best of a few runs: other processes on the machine only slow it down
        started = time.perf_counter()
        for start in range(0, len(texts), 64):
            detector.detect_many(texts[start : start + 64])
        timings.append(time.perf_counter() - started)
    pii_rate = len(texts) / min(timings)
    now = datetime.now(UTC)
    posts = [
        Post(id=f"b:{i}", source="b", url="u", text=t, created_at=now, collected_at=now) for i, t in enumerate(texts)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        analyzer = load_analyzer(Settings(data_dir=Path(tmp)))
        analyzer.analyze(posts[:10])
        started = time.perf_counter()
        for start in range(0, len(posts), 64):
            analyzer.analyze(posts[start : start + 64])
        analysis_rate = len(posts) / (time.perf_counter() - started)
    result = {
        "posts": len(texts),
        "words per post": sum(len(t.split()) for t in texts) / len(texts),
        "pii posts/s (one core)": round(pii_rate, 1),
        "whole analyser posts/s (one core)": round(analysis_rate, 1),
        "spaCy NER in the engine": detector.has_ner,
        "peak MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
