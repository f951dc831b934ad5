"""Speed and memory of the harm classifier on 2 CPU threads, side by side with a BERT-base-sized model.

    python -m bench.classifier [--model DIR] [--posts N] [--no-base]

Posts are the texts of the dataset's test split, repeated to N, so they have the real length mix: a
median of about 20 words and a long tail of rants. Each model runs in its own subprocess, so each peak
memory is its own. Three models are measured, all batched by length in inference mode:

- the default model with int8 dynamic quantisation;
- the default model without it;
- a 12-layer, 768-wide BERT with the same tokenizer and random weights, which is as slow as a real Swedish
  BERT-base would be.

It reports posts/s, the speed ratio and peak MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

THREADS = 2


def _posts(count: int) -> list[str]:
    from models.classifier.dataset import SPLITS_DIR, read_jsonl

    texts = [e.text for e in read_jsonl(SPLITS_DIR / "test.jsonl")]
    return [texts[i % len(texts)] for i in range(count)]


def _measure(model_dir: str, quantize: bool, posts: int) -> dict[str, Any]:
    import torch

    from models.classifier.predict import HarmClassifier

    torch.set_num_threads(THREADS)
    texts = _posts(posts)
    classifier = HarmClassifier(Path(model_dir), quantize=quantize)
    classifier.scores(texts[:64])  # warm-up
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        classifier.scores(texts)
        timings.append(time.perf_counter() - started)
    return {
        "posts_per_s": round(posts / min(timings), 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "parameters_m": round(sum(p.numel() for p in classifier.model.parameters()) / 1e6, 2),
    }


def _base_sized(model_dir: Path, target: Path) -> Path:
    """A BERT-base-sized classifier directory with the model's tokenizer, thresholds and random weights."""
    import shutil

    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    config = BertConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
    config.num_labels = 4
    BertForSequenceClassification(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    shutil.copy(model_dir / "vaktpost.json", target / "vaktpost.json")
    return target


def _run(model_dir: Path, quantize: bool, posts: int) -> dict[str, Any]:
    code = (
        f"import json, bench.classifier as b; print(json.dumps(b._measure({str(model_dir)!r}, {quantize!r}, {posts})))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    from models.classifier.model_dir import DEFAULT_MODEL_DIR

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--no-base", action="store_true", help="skip the BERT-base-sized comparison")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "threads": THREADS,
        "posts": args.posts,
        "default model (int8)": _run(args.model, True, args.posts),
        "default model (float32)": _run(args.model, False, args.posts),
    }
    if not args.no_base:
        with tempfile.TemporaryDirectory() as tmp:
            base = _base_sized(args.model, Path(tmp) / "base")
            result["BERT-base size (int8)"] = _run(base, True, max(200, args.posts // 10))
        result["speed ratio default/base"] = round(
            result["default model (int8)"]["posts_per_s"] / result["BERT-base size (int8)"]["posts_per_s"], 1
        )
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
